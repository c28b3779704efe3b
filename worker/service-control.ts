import fs from 'node:fs';
import { UnrecoverableError } from '../jobs/lib/errors.ts';
import type { JobContext } from '../jobs/lib/kind.ts';
import type { ServiceAdapter, ServiceState } from './adapters/types.ts';
import { describeState, pollState, settled, VERIFY_TIMEOUT_MS } from './verified-restart.ts';

/**
 * Start and stop (DESIGN §10), verified like a restart: a start ends with the service
 * running under a PID, a stop only once none of its processes is left.
 */

export class CannotStartError extends UnrecoverableError {
  override name = 'CannotStartError';
}

/** A live process has this PID (a zombie is an exited process its parent has not collected yet). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s*[ZX]/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

const runningWithPid = (s: ServiceState) => s.running && s.pid !== null;

export async function verifiedStart(ctx: JobContext, name: string, adapter: ServiceAdapter, signal: AbortSignal) {
  const before = await adapter.state();
  ctx.output('stdout', `before: ${describeState(before)}\n`);
  if (runningWithPid(before)) {
    ctx.output('stdout', `${name} is already running\n`);
    return { before, after: before };
  }
  if (!adapter.start) {
    throw new CannotStartError(`Deckhand cannot start a ${adapter.manager} target: start ${name} with its own manager`);
  }
  await adapter.start();
  const { state: after, ok } = await pollState(
    adapter,
    (p, c) => runningWithPid(p) && runningWithPid(c) && settled(p, c),
    signal,
  );
  ctx.output('stdout', `after: ${describeState(after)}\n`);
  if (!ok) throw new Error(`${name} did not start within ${VERIFY_TIMEOUT_MS / 1000} s: ${after.detail}`);
  return { before, after };
}

export async function verifiedStop(ctx: JobContext, name: string, adapter: ServiceAdapter, signal: AbortSignal) {
  const before = await adapter.state();
  ctx.output('stdout', `before: ${describeState(before)}\n`);
  if (!before.running) {
    ctx.output('stdout', `${name} is already stopped\n`);
    return { before, after: before };
  }
  await adapter.stop();
  // The master and every worker it had must be gone, not just the manager's word for it.
  const pids = [before.pid, ...before.workerPids].filter((p): p is number => p !== null);
  const gone = (s: ServiceState) => !s.running && pids.every((p) => !alive(p));
  const { state: after, ok } = await pollState(adapter, (p, c) => gone(p) && gone(c), signal);
  ctx.output('stdout', `after: ${describeState(after)}\n`);
  if (!ok) {
    const left = pids.filter(alive);
    throw new Error(
      `${name} did not stop within ${VERIFY_TIMEOUT_MS / 1000} s: ${after.detail}${left.length ? `; still running: PID ${left.join(', ')}` : ''}`,
    );
  }
  return { before, after };
}
