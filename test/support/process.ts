import type { ChildProcess } from 'node:child_process';
import https from 'node:https';
import net from 'node:net';

export { freePort } from '../../db/embedded.ts';

/** True once something accepts TCP connections on 127.0.0.1:port. */
export const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s.end() && true));
    s.once('error', () => resolve(false));
  });

/** Sends `signal` to a child and waits until it has exited. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

/** One HTTPS GET to 127.0.0.1:port on a fresh connection, trusting any certificate (tests use self-signed ones). */
export function httpsGet(port: number, urlPath = '/', headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: urlPath, rejectUnauthorized: false, agent: false, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}
