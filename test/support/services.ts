import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eventually } from './app.ts';
import { accepts, freePort } from './redis.ts';

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
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  args.push('-keyout', key, '-out', cert, '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${san}`);
  if (days >= 0) args.push('-days', String(days));
  else args.push('-not_before', '20200101000000Z', '-not_after', '20200201000000Z');
  await run('openssl', args);
  return { cert, key, certPem: fs.readFileSync(cert, 'utf8'), keyPem: fs.readFileSync(key, 'utf8') };
}

export interface Gunicorn {
  port: number;
  pidfile: string;
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
    proc,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Supervisord {
  config: string;
  port: number;
  stop(): Promise<void>;
}

/** Real supervisord managing one program `web` (python's http.server). */
export async function startSupervisord(dir: string): Promise<Supervisord> {
  const port = await freePort();
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
      '[program:web]',
      `command=/usr/bin/python3 -m http.server ${port} --bind 127.0.0.1 --directory ${dir}`,
      'autostart=true',
      'startsecs=1',
      'stopwaitsecs=5',
      '',
    ].join('\n'),
  );
  const proc = spawn('/usr/bin/supervisord', ['-c', config], { stdio: 'ignore' });
  await eventually(async () => accepts(port), 15_000, 'supervisord program');
  return {
    config,
    port,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
