import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { eventually } from './app.ts';
import { nginxMainConfig } from './nginx-config.ts';
import { accepts, freePort, stopChild } from './process.ts';

const run = promisify(execFile);

export interface LoggingNginx {
  port: number;
  config: string;
  access: string;
  error: string;
  get(urlPath: string): Promise<number>;
  reopen(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Real nginx on plain HTTP writing real access (combined format) and error logs into `dir`:
 * `/ok/...` answers 200, `/files/...` looks for a file that is not there (an [error] line).
 */
export async function startLoggingNginx(dir: string): Promise<LoggingNginx> {
  const port = await freePort();
  const config = path.join(dir, 'nginx.conf');
  const access = path.join(dir, 'access.log');
  const error = path.join(dir, 'error.log');
  fs.mkdirSync(path.join(dir, 'www'), { recursive: true });
  fs.writeFileSync(
    config,
    nginxMainConfig(
      dir,
      `  server {
    listen 127.0.0.1:${port};
    location /ok/ { return 200 "ok"; }
    location /files/ { root ${dir}/www; }
  }`,
      { error: `${error} info`, access: `${access} combined` },
    ),
  );
  const proc = spawn('/usr/sbin/nginx', ['-c', config, '-e', error], { stdio: 'ignore' });
  try {
    await eventually(async () => accepts(port), 15_000, 'nginx');
  } catch (err) {
    await stopChild(proc, 'SIGQUIT');
    throw err;
  }
  const get = (urlPath: string) =>
    new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
          res.resume().on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject);
    });
  return {
    port,
    config,
    access,
    error,
    get,
    async reopen() {
      await run('/usr/sbin/nginx', ['-c', config, '-e', error, '-s', 'reopen']);
    },
    stop: () => stopChild(proc, 'SIGQUIT'),
  };
}

/** Runs a real `logrotate -f` on `file` with `mode` (copytruncate or create), state kept in `dir`. */
export async function logrotate(dir: string, file: string, mode: 'copytruncate' | 'create'): Promise<void> {
  const conf = path.join(dir, `logrotate-${mode}.conf`);
  fs.writeFileSync(conf, `${file} {\n  ${mode}\n  rotate 3\n  missingok\n  nocompress\n}\n`, { mode: 0o644 });
  await run('/usr/sbin/logrotate', ['-f', '-s', path.join(dir, 'logrotate.state'), conf]);
}

/** A target whose process is this nginx's master (found by its pidfile in `dir`), with `logs` as its sources. */
export const nginxTarget = (dir: string, logs: object[]) => ({
  manager: 'signal',
  pidfile: path.join(dir, 'nginx.pid'),
  match: { exe: '/usr/sbin/nginx' },
  logs,
});
