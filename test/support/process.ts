import type { ChildProcess } from 'node:child_process';
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
