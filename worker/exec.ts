import { spawn } from 'node:child_process';
import { JobTimeoutError, ProcessFailedError } from '../jobs/lib/errors.ts';
import type { ExecResult } from '../jobs/lib/kind.ts';

export interface GroupExecOptions {
  cwd?: string | undefined;
  env: Record<string, string>;
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL when the run is stopped. */
  graceMs: number;
  signal: AbortSignal;
  onSpawn(pid: number): void;
  onStdout(chunk: string): void;
  onStderr(chunk: string): void;
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Runs `file` without a shell as the leader of a new process group, so that a
 * stop reaches every process it started. Resolves once the leader has exited
 * and its pipes have closed; rejects with the abort reason or JobTimeoutError
 * when it was stopped, always after the process is gone.
 */
export function execInGroup(file: string, args: readonly string[], o: GroupExecOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    if (o.signal.aborted) return reject(o.signal.reason);
    const child = spawn(file, args, {
      cwd: o.cwd,
      env: o.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stopReason: unknown = null;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (reason: unknown) => {
      if (stopReason || child.pid === undefined) return;
      stopReason = reason;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => child.pid && killGroup(child.pid, 'SIGKILL'), o.graceMs);
    };
    const onAbort = () => stop(o.signal.reason);
    const timeout = setTimeout(() => stop(new JobTimeoutError(`timed out after ${o.timeoutMs / 1000} s`)), o.timeoutMs);
    o.signal.addEventListener('abort', onAbort, { once: true });
    let captured = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (captured.length < 65_536) captured += chunk;
      o.onStdout(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', o.onStderr);
    child.on('spawn', () => child.pid && o.onSpawn(child.pid));
    child.on('error', (err) => {
      cleanup();
      reject(new ProcessFailedError(`cannot run ${file}: ${err.message}`, null, null));
    });
    // Whatever the leader left behind in its group goes with it, which also frees the pipes.
    child.on('exit', () => child.pid && killGroup(child.pid, 'SIGKILL'));
    child.on('close', (exitCode, signal) => {
      cleanup();
      if (stopReason) reject(stopReason);
      else resolve({ exitCode, signal, stdout: captured.slice(0, 65_536) });
    });
    function cleanup() {
      clearTimeout(timeout);
      clearTimeout(killTimer);
      o.signal.removeEventListener('abort', onAbort);
    }
  });
}
