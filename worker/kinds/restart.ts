import type { JobContext } from '../../jobs/lib/kind.ts';
import { loadTarget, type TargetSpec } from '../../jobs/lib/targets.ts';
import restart, { type ServiceMode } from '../../jobs/restart.ts';
import { adapterFor } from '../adapters/index.ts';
import type { ServiceState } from '../adapters/types.ts';
import { waitHealthy } from '../health.ts';
import { verifiedStart, verifiedStop } from '../service-control.ts';
import { verifiedRestart } from '../verified-restart.ts';
import { defineHandler } from './handler.ts';

const doing: Record<ServiceMode, [string, string]> = {
  restart: ['restarting', 'restarted'],
  reload: ['reloading', 'reloaded'],
  start: ['starting', 'started'],
  stop: ['stopping', 'stopped'],
};

function control(ctx: JobContext, name: string, spec: TargetSpec, mode: ServiceMode) {
  const adapter = adapterFor(spec, ctx.exec);
  if (mode === 'start') return verifiedStart(ctx, name, adapter, ctx.signal);
  if (mode === 'stop') return verifiedStop(ctx, name, adapter, ctx.signal);
  // A restart of a stopped service starts it; a reload of one fails, saying so.
  return verifiedRestart(ctx, name, adapter, { mode, startIfStopped: mode === 'restart', signal: ctx.signal });
}

/** Restarts, reloads, starts or stops the target through its manager, verifies the processes, then its health URL. */
export default defineHandler(restart, async (ctx, req, env) => {
  const { spec } = await loadTarget(env, req.target);
  const [verb, done] = doing[req.mode];
  await ctx.progress(10, `${verb} ${req.target}`);
  const { before, after }: { before: ServiceState; after: ServiceState } = await control(
    ctx,
    req.target,
    spec,
    req.mode,
  );
  if (spec.healthUrl && req.mode !== 'stop') {
    await ctx.progress(85, `health check ${spec.healthUrl}`);
    await waitHealthy(spec.healthUrl, {
      timeoutMs: spec.healthTimeoutSec * 1000,
      verifyTls: spec.healthVerifyTls,
      signal: ctx.signal,
    });
  }
  await ctx.progress(100, `${req.target} ${done}`);
  return {
    mode: req.mode,
    pidBefore: before.pid,
    pidAfter: after.pid,
    workersBefore: before.workerPids,
    workersAfter: after.workerPids,
  };
});
