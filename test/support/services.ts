import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eventually } from './app.ts';
import { nginxMainConfig } from './nginx-config.ts';
import { accepts, freePort, stopChild } from './process.ts';

const run = promisify(execFile);

/** A scratch directory under the managed paths the harness allows (os.tmpdir()). */
export function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `deckhand-${prefix}-`));
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** A self-signed EC certificate for `names` (DNS names or IPs), valid `days` (negative: expired). */
export async function makeCert(dir: string, base: string, names: string[], days = 30) {
  const cert = path.join(dir, `${base}.crt`);
  const key = path.join(dir, `${base}.key`);
  const san = names.map((n) => (/^\d+\.\d+\.\d+\.\d+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key];
  if (days >= 0) {
    await run('openssl', [
      'req',
      '-x509',
      ...ec,
      '-out',
      cert,
      '-subj',
      `/CN=${names[0]}`,
      '-addext',
      `subjectAltName=${san}`,
      '-days',
      String(days),
    ]);
  } else {
    // openssl 3.0's req cannot back-date; x509 -req -days -1 ends validity yesterday.
    const csr = path.join(dir, `${base}.csr`);
    const ext = path.join(dir, `${base}.ext`);
    fs.writeFileSync(ext, `subjectAltName=${san}\n`);
    await run('openssl', ['req', ...ec, '-out', csr, '-subj', `/CN=${names[0]}`]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      csr,
      '-signkey',
      key,
      '-days',
      String(days),
      '-out',
      cert,
      '-extfile',
      ext,
    ]);
  }
  return { cert, key, certPem: fs.readFileSync(cert, 'utf8'), keyPem: fs.readFileSync(key, 'utf8') };
}

export interface Gunicorn {
  port: number;
  pidfile: string;
  /** What a signal target declares its master to be (the pidfile's PID must match it). */
  match: { exe: string; cmdline: string };
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Real gunicorn serving HTTPS with 2 workers; `/` answers with the worker's pid, `/health` with ok. */
export async function startGunicorn(dir: string, cert: { cert: string; key: string }): Promise<Gunicorn> {
  fs.writeFileSync(
    path.join(dir, 'app.py'),
    `import os\ndef app(environ, start_response):\n    body = b"ok" if environ["PATH_INFO"] == "/health" else ("hello from %d" % os.getpid()).encode()\n    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])\n    return [body]\n`,
  );
  const port = await freePort();
  const pidfile = path.join(dir, 'gunicorn.pid');
  const proc = spawn(
    '/usr/bin/gunicorn',
    [
      '--chdir',
      dir,
      '--bind',
      `127.0.0.1:${port}`,
      '--workers',
      '2',
      '--pid',
      pidfile,
      '--graceful-timeout',
      '5',
    ].concat(['--certfile', cert.cert, '--keyfile', cert.key, 'app:app']),
    { stdio: 'ignore' },
  );
  await eventually(async () => fs.existsSync(pidfile) && (await accepts(port)), 15_000, 'gunicorn');
  return {
    port,
    pidfile,
    match: { exe: '/usr/bin/python3', cmdline: '^/usr/bin/python3 /usr/bin/gunicorn ' },
    proc,
    stop: () => stopChild(proc),
  };
}

export interface Supervisord {
  config: string;
  port: number;
  stop(): Promise<void>;
}

/** supervisord's own sections (socket, log, pidfile, RPC) for a supervisord living in `dir`, then `sections`. */
export function supervisordConfig(dir: string, sections: string[]): string {
  const config = path.join(dir, 'supervisord.conf');
  fs.writeFileSync(
    config,
    [
      '[unix_http_server]',
      `file=${dir}/supervisor.sock`,
      '[supervisord]',
      `logfile=${dir}/supervisord.log`,
      `pidfile=${dir}/supervisord.pid`,
      'nodaemon=true',
      '[rpcinterface:supervisor]',
      'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
      '[supervisorctl]',
      `serverurl=unix://${dir}/supervisor.sock`,
      ...sections,
      '',
    ].join('\n'),
  );
  return config;
}

/** Real supervisord managing one program `web` (python's http.server). */
export async function startSupervisord(dir: string): Promise<Supervisord> {
  const port = await freePort();
  const config = supervisordConfig(dir, [
    '[program:web]',
    `command=/usr/bin/python3 -m http.server ${port} --bind 127.0.0.1 --directory ${dir}`,
    'autostart=true',
    'startsecs=1',
    'stopwaitsecs=5',
  ]);
  const proc = spawn('/usr/bin/supervisord', ['-c', config], { stdio: 'ignore' });
  await eventually(async () => accepts(port), 15_000, 'supervisord program');
  return {
    config,
    port,
    stop: () => stopChild(proc),
  };
}

/** Real supervisord with one python http.server program per name; those in `stopped` do not autostart. */
export async function startSupervisordPrograms(dir: string, names: string[], stopped: string[] = []) {
  const ports: Record<string, number> = {};
  const sections: string[] = [];
  for (const name of names) {
    ports[name] = await freePort();
    sections.push(
      `[program:${name}]`,
      `command=/usr/bin/python3 -m http.server ${ports[name]} --bind 127.0.0.1 --directory ${dir}`,
      `autostart=${!stopped.includes(name)}`,
      'startsecs=1',
      'stopwaitsecs=5',
    );
  }
  const config = supervisordConfig(dir, sections);
  const proc = spawn('/usr/bin/supervisord', ['-c', config], { stdio: 'ignore' });
  try {
    for (const name of names.filter((n) => !stopped.includes(n))) {
      await eventually(async () => accepts(ports[name]!), 15_000, `supervisord program ${name}`);
    }
  } catch (err) {
    await stopChild(proc);
    throw err;
  }
  return { config, ports, stop: () => stopChild(proc) };
}

/** A root CA (`dir/root.crt`), an intermediate and a leaf for `name` (a DNS name or an IP), as PEM. */
export async function makeChain(dir: string, name: string) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const f = (n: string) => path.join(dir, n);
  fs.writeFileSync(f('ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  const san = /^\d+\.\d+\.\d+\.\d+$/.test(name) ? `IP:${name}` : `DNS:${name}`;
  fs.writeFileSync(f('leaf.ext'), `subjectAltName=${san}\n`);
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('root.key'),
    '-out',
    f('root.crt'),
    '-subj',
    '/CN=Test Root',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ]);
  await run('openssl', ['req', ...ec, '-keyout', f('int.key'), '-out', f('int.csr'), '-subj', '/CN=Test Intermediate']);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    f('int.csr'),
    '-CA',
    f('root.crt'),
    '-CAkey',
    f('root.key'),
    '-CAcreateserial',
    '-out',
    f('int.crt'),
    '-days',
    '30',
    '-extfile',
    f('ca.ext'),
  ]);
  await run('openssl', ['req', ...ec, '-keyout', f('leaf.key'), '-out', f('leaf.csr'), '-subj', `/CN=${name}`]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    f('leaf.csr'),
    '-CA',
    f('int.crt'),
    '-CAkey',
    f('int.key'),
    '-CAcreateserial',
    '-out',
    f('leaf.crt'),
    '-days',
    '30',
    '-extfile',
    f('leaf.ext'),
  ]);
  const read = (n: string) => fs.readFileSync(f(n), 'utf8');
  return { leaf: read('leaf.crt'), intermediate: read('int.crt'), key: read('leaf.key') };
}

export interface Nginx {
  port: number;
  config: string;
  stop(): Promise<void>;
}

/** Real nginx on a high port serving TLS from `certPath`/`keyPath`, master running in the foreground. */
export async function startNginx(dir: string, certPath: string, keyPath: string): Promise<Nginx> {
  const port = await freePort();
  const config = path.join(dir, 'nginx.conf');
  fs.mkdirSync(path.join(dir, 'conf.d'), { recursive: true });
  fs.writeFileSync(
    config,
    nginxMainConfig(
      dir,
      `  include ${dir}/conf.d/*.conf;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${certPath};
    ssl_certificate_key ${keyPath};
    location / { return 200 "ok"; }
  }`,
    ),
  );
  const proc = spawn('/usr/sbin/nginx', ['-c', config, '-e', `${dir}/error.log`], { stdio: 'ignore' });
  await eventually(async () => accepts(port), 15_000, 'nginx');
  return {
    port,
    config,
    stop: () => stopChild(proc, 'SIGQUIT'),
  };
}
