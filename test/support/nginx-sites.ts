import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { eventually } from './app.ts';
import { nginxMainConfig } from './nginx-config.ts';
import { accepts, freePort, stopChild } from './process.ts';

/** A real nginx laid out like Debian's: conf.d/*.conf, sites-available and sites-enabled, plain HTTP. */
export interface NginxSites {
  dir: string;
  main: string;
  port: number;
  /** The port the `extra` site in sites-available listens on once enabled. */
  extraPort: number;
  appConf: string;
  extraSite: string;
  enabledDir: string;
  get(port: number, urlPath?: string): Promise<{ status: number; body: string } | null>;
  /** `nginx -s reload`, as an admin would after editing by hand. */
  reload(): void;
  stop(): Promise<void>;
}

export const appServer = (port: number, body: string, health = 'return 200 "ok";') => `server {
  listen 127.0.0.1:${port};
  location = /health { ${health} }
  location / { return 200 "${body}"; }
}
`;

export async function startNginxSites(dir: string): Promise<NginxSites> {
  const [port, extraPort] = [await freePort(), await freePort()];
  const main = path.join(dir, 'nginx.conf');
  for (const d of ['conf.d', 'sites-available', 'sites-enabled']) fs.mkdirSync(path.join(dir, d), { mode: 0o755 });
  fs.writeFileSync(
    main,
    nginxMainConfig(
      dir,
      `  include ${dir}/conf.d/*.conf;
  include ${dir}/sites-enabled/*;`,
    ),
  );
  const appConf = path.join(dir, 'conf.d/app.conf');
  const extraSite = path.join(dir, 'sites-available/extra');
  fs.writeFileSync(appConf, appServer(port, 'v1'));
  fs.writeFileSync(extraSite, `server {\n  listen 127.0.0.1:${extraPort};\n  location / { return 200 "extra"; }\n}\n`);
  const proc: ChildProcess = spawn('/usr/sbin/nginx', ['-c', main, '-e', `${dir}/error.log`], { stdio: 'ignore' });
  try {
    await eventually(async () => accepts(port), 15_000, 'nginx');
  } catch (err) {
    await stopChild(proc, 'SIGQUIT');
    throw err;
  }
  return {
    dir,
    main,
    port,
    extraPort,
    appConf,
    extraSite,
    enabledDir: path.join(dir, 'sites-enabled'),
    // A new connection each time: a kept-alive one could still reach a worker of the old config.
    get: (p, urlPath = '/') =>
      new Promise((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: p, path: urlPath, agent: false, timeout: 3000 }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(null));
      }),
    reload() {
      execFileSync('/usr/sbin/nginx', ['-c', main, '-s', 'reload']);
    },
    stop: () => stopChild(proc, 'SIGQUIT'),
  };
}
