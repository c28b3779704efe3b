import { type ChildProcess, spawn } from 'node:child_process';
import { eventually } from './app.ts';
import { accepts, stopChild } from './process.ts';

export { accepts, freePort } from './process.ts';

/** A private redis-server that a test may kill and start again on the same port. */
export class PrivateRedis {
  private proc: ChildProcess | null = null;
  constructor(readonly port: number) {}

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
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

  async kill(): Promise<void> {
    if (this.proc) await stopChild(this.proc, 'SIGKILL');
  }
}
