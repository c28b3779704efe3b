import { type ChildProcess, spawn } from 'node:child_process';
import { eventually } from './app.ts';
import { accepts, stopChild } from './process.ts';

export { accepts, freePort } from './process.ts';

/** Every redis-server a test started and has not stopped yet, killed however the test process ends. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

/** A private redis-server that a test may kill and start again on the same port. */
export class PrivateRedis {
  private proc: ChildProcess | null = null;
  constructor(readonly port: number) {}

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Starts it, unless it is running already (a second server on the same port would fail and hide the first). */
  async start(): Promise<void> {
    if (this.running) return;
    const proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.proc = proc;
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    await eventually(() => accepts(this.port), 10_000, `redis-server on ${this.port}`);
  }

  /** A hang: connections stay open but nothing is answered (SIGSTOP) until it is killed. */
  pause(): void {
    this.proc?.kill('SIGSTOP'); // a no-op once it has exited
  }

  /** Ends a pause (SIGCONT); harmless when it is not paused. */
  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  /** The outage: SIGKILL, no shutdown save. */
  async kill(): Promise<void> {
    if (this.proc) await stopChild(this.proc, 'SIGKILL');
  }
}
