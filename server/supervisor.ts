import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { APP_DIR, type Logger, NODE_FLAGS } from '../config.ts';

/** Where this module's siblings are: dist/ when it runs compiled, the sources when it runs through tsx. */
const root = path.resolve(import.meta.dirname, '..');
const compiled = import.meta.filename.endsWith('.js');

/** How to run an entry point (`server/main`, without extension) the way this process itself runs. */
export const entryArgv = (entry: string) => [
  ...NODE_FLAGS,
  ...(compiled ? [path.join(root, `${entry}.js`)] : ['--import', 'tsx', path.join(root, `${entry}.ts`)]),
];

/** Time a stopping worker needs beyond both graces: writing its jobs' final rows, closing its connections. */
const STOP_MARGIN_MS = 10_000;
const PARENT_POLL_MS = 500;

export interface ManagedProcess {
  stop(killAfterMs: number): Promise<void>;
}

/**
 * How long the supervisor waits for a child it asked to stop before it SIGKILLs it. A worker lets its
 * jobs run for the shutdown grace, then stops their process groups (SIGTERM, SIGKILL after the cancel
 * grace), waits for them to exit and records them `failed`; only after all that may it be killed, or
 * its jobs' processes would outlive it and their rows stay `active`.
 */
export const stopDeadlineMs = (c: { DECKHAND_SHUTDOWN_GRACE_MS: number; DECKHAND_CANCEL_GRACE_MS: number }) =>
  c.DECKHAND_SHUTDOWN_GRACE_MS + c.DECKHAND_CANCEL_GRACE_MS + STOP_MARGIN_MS;

/**
 * Calls `onGone` once when the process that started this one is gone: the IPC channel to the
 * supervisor closed, or this process was re-parented (its parent died, e.g. SIGKILL, and nobody
 * forwarded a signal). A process started by init (ppid 1, as under systemd) has nothing to watch.
 */
export function stopWithParent(onGone: (why: string) => void): void {
  const parent = process.ppid;
  let fired = false;
  const fire = (why: string) => {
    if (fired) return;
    fired = true;
    clearInterval(poll);
    onGone(why);
  };
  const poll = setInterval(() => {
    if (process.ppid !== parent) fire(`parent process ${parent} exited`);
  }, PARENT_POLL_MS);
  poll.unref();
  if (process.channel) {
    process.once('disconnect', () => fire('the supervisor closed its channel'));
    process.channel.unref(); // the channel alone must not keep this process alive
  }
}

/**
 * Runs one Deckhand entry point (`server/main`, `worker/main`) as a child
 * process and starts it again when it exits unexpectedly, with a backoff that
 * resets once it has stayed up for a minute. The child gets an IPC channel so
 * that it notices at once when the supervisor dies, however it dies.
 */
export function keepRunning(name: string, entry: string, env: NodeJS.ProcessEnv, log: Logger): ManagedProcess {
  let child: ChildProcess | null = null;
  let stopping = false;
  let backoffMs = 500;
  let restartTimer: NodeJS.Timeout | undefined;

  const start = () => {
    const startedAt = Date.now();
    child = spawn(process.execPath, entryArgv(entry), {
      cwd: APP_DIR,
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
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
    async stop(killAfterMs) {
      stopping = true;
      clearTimeout(restartTimer);
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      const killer = setTimeout(() => {
        log.error({ process: name, killAfterMs }, 'process did not stop in time: SIGKILL');
        running.kill('SIGKILL');
      }, killAfterMs);
      await exited;
      clearTimeout(killer);
    },
  };
}
