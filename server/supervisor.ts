import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { Logger } from '../config.ts';

const root = path.resolve(import.meta.dirname, '..');

export interface ManagedProcess {
  stop(graceMs: number): Promise<void>;
}

/**
 * Runs one Deckhand entry point (`server/main.ts`, `worker/main.ts`) as a child
 * process and starts it again when it exits unexpectedly, with a backoff that
 * resets once it has stayed up for a minute.
 */
export function keepRunning(name: string, entry: string, env: NodeJS.ProcessEnv, log: Logger): ManagedProcess {
  let child: ChildProcess | null = null;
  let stopping = false;
  let backoffMs = 500;
  let restartTimer: NodeJS.Timeout | undefined;

  const start = () => {
    const startedAt = Date.now();
    child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], {
      cwd: root,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('exit', (code, signal) => {
      child = null;
      if (stopping) return;
      if (Date.now() - startedAt > 60_000) backoffMs = 500;
      log.warn({ process: name, code, signal, restartInMs: backoffMs }, 'process exited; restarting');
      restartTimer = setTimeout(start, backoffMs);
      backoffMs = Math.min(backoffMs * 2, 30_000);
    });
  };
  start();

  return {
    async stop(graceMs) {
      stopping = true;
      clearTimeout(restartTimer);
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      const killer = setTimeout(() => running.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
    },
  };
}
