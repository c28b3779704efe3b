import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError } from '../jobs/lib/errors.ts';
import type { JobContext } from '../jobs/lib/kind.ts';
import { type ServiceAdapter, ServiceNotRunningError, type ServiceState } from './adapters/types.ts';

export const VERIFY_TIMEOUT_MS = 30_000;

/** A restart replaced the process, or (gunicorn, nginx) the master replaced every worker. */
function replaced(before: ServiceState, after: ServiceState): boolean {
  if (!after.running) return false;
  if (before.pid !== after.pid) return true;
  return (
    before.workerPids.length > 0 &&
    after.workerPids.length > 0 &&
    !after.workerPids.some((p) => before.workerPids.includes(p))
  );
}

/**
 * The same processes on two looks in a row: a master that forks its new workers one by one
 * (gunicorn) is not done after the first, and old workers still draining do not count.
 */
export const settled = (a: ServiceState, b: ServiceState) =>
  a.pid === b.pid && a.workerPids.length === b.workerPids.length && a.workerPids.every((p) => b.workerPids.includes(p));

export const describeState = (s: ServiceState) => `pid ${s.pid ?? '-'} workers [${s.workerPids.join(' ')}] ${s.detail}`;

/**
 * Looks at the service every 250 ms until `done(previous, current)` holds or the time is up;
 * returns the last state and whether it got there.
 */
export async function pollState(
  adapter: ServiceAdapter,
  done: (previous: ServiceState, current: ServiceState) => boolean,
  signal: AbortSignal,
): Promise<{ state: ServiceState; ok: boolean }> {
  const deadline = Date.now() + VERIFY_TIMEOUT_MS;
  let previous: ServiceState | null = null;
  let current = await adapter.state();
  const ok = () => previous !== null && done(previous, current);
  while (!ok() && Date.now() < deadline) {
    await sleep(250, undefined, { signal });
    previous = current;
    current = await adapter.state();
  }
  return { state: current, ok: ok() };
}

/** Why a stopped service cannot be restarted or reloaded here, or null when it can be started. */
function notRunning(name: string, adapter: ServiceAdapter, before: ServiceState, o: VerifiedRestartOptions) {
  const why = `${name} is not running (${before.detail})`;
  if (o.mode === 'reload') return `${why}: a reload needs a running service; start it instead`;
  if (!o.startIfStopped) return why;
  if (!adapter.start)
    return `${why}, and Deckhand cannot start a ${adapter.manager} target: start it with its own manager`;
  return null;
}

export interface VerifiedRestartOptions {
  mode: 'restart' | 'reload';
  /** A deploy, or a restart job, starts a service that is not running (a reload never does). */
  startIfStopped: boolean;
  signal: AbortSignal;
}

/**
 * Restarts (or reloads) through the adapter, then waits until the service is
 * back: for a restart, as new processes. Reports both states as output.
 */
export async function verifiedRestart(
  ctx: JobContext,
  name: string,
  adapter: ServiceAdapter,
  o: VerifiedRestartOptions,
) {
  const before = await adapter.state();
  ctx.output('stdout', `before: ${describeState(before)}\n`);
  const refused = before.running ? null : notRunning(name, adapter, before, o);
  if (refused) throw new UnrecoverableError(refused);
  const act = before.running ? adapter.apply(o.mode) : adapter.start!();
  await act.catch((err) => {
    throw err instanceof ServiceNotRunningError ? new UnrecoverableError(err.message) : err;
  });
  const back = (s: ServiceState) => (before.running && o.mode === 'restart' ? replaced(before, s) : s.running);
  const { state: after, ok } = await pollState(adapter, (p, c) => back(p) && back(c) && settled(p, c), o.signal);
  ctx.output('stdout', `after: ${describeState(after)}\n`);
  if (!ok) {
    const how = before.running && o.mode === 'restart' ? 'as new processes' : 'running';
    throw new Error(`${name} did not come back ${how} within ${VERIFY_TIMEOUT_MS / 1000} s: ${after.detail}`);
  }
  return { before, after };
}
