import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError } from '../jobs/lib/errors.ts';
import type { JobContext } from '../jobs/lib/kind.ts';
import { type ServiceAdapter, ServiceNotRunningError, type ServiceState } from './adapters/types.ts';

const VERIFY_TIMEOUT_MS = 30_000;

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
const settled = (a: ServiceState, b: ServiceState) =>
  a.pid === b.pid && a.workerPids.length === b.workerPids.length && a.workerPids.every((p) => b.workerPids.includes(p));

const describeState = (s: ServiceState) => `pid ${s.pid ?? '-'} workers [${s.workerPids.join(' ')}] ${s.detail}`;

export interface VerifiedRestartOptions {
  mode: 'restart' | 'reload';
  /** A deploy may start a service that is not running yet; a restart job refuses to. */
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
  if (!before.running && !(o.startIfStopped && adapter.start)) {
    throw new UnrecoverableError(`${name} is not running: ${before.detail}`);
  }
  const act = before.running ? adapter.apply(o.mode) : adapter.start!();
  await act.catch((err) => {
    throw err instanceof ServiceNotRunningError ? new UnrecoverableError(err.message) : err;
  });
  const back = (s: ServiceState) => (before.running && o.mode === 'restart' ? replaced(before, s) : s.running);
  const deadline = Date.now() + VERIFY_TIMEOUT_MS;
  let previous: ServiceState | null = null;
  let after = await adapter.state();
  const done = () => previous !== null && back(previous) && back(after) && settled(previous, after);
  while (!done() && Date.now() < deadline) {
    await sleep(250, undefined, { signal: o.signal });
    previous = after;
    after = await adapter.state();
  }
  ctx.output('stdout', `after: ${describeState(after)}\n`);
  if (!done()) {
    const how = before.running && o.mode === 'restart' ? 'as new processes' : 'running';
    throw new Error(`${name} did not come back ${how} within ${VERIFY_TIMEOUT_MS / 1000} s: ${after.detail}`);
  }
  return { before, after };
}
