import { loadTarget } from '../../jobs/lib/targets.ts';
import restart from '../../jobs/restart.ts';
import { adapterFor } from '../adapters/index.ts';
import { waitHealthy } from '../health.ts';
import { verifiedRestart } from '../verified-restart.ts';
import { defineHandler } from './handler.ts';

/** Restarts or reloads the target through its manager, verifies the new processes, then its health URL. */
export default defineHandler(restart, async (ctx, req, env) => {
  const { spec } = await loadTarget(env, req.target);
  await ctx.progress(10, `${req.mode === 'restart' ? 'restarting' : 'reloading'} ${req.target}`);
  const { before, after } = await verifiedRestart(ctx, req.target, adapterFor(spec, ctx.exec), {
    mode: req.mode,
    startIfStopped: false,
    signal: ctx.signal,
  });
  if (spec.healthUrl) {
    await ctx.progress(85, `health check ${spec.healthUrl}`);
    await waitHealthy(spec.healthUrl, {
      timeoutMs: spec.healthTimeoutSec * 1000,
      verifyTls: spec.healthVerifyTls,
      signal: ctx.signal,
    });
  }
  await ctx.progress(100, `${req.target} ${req.mode === 'restart' ? 'restarted' : 'reloaded'}`);
  return {
    pidBefore: before.pid,
    pidAfter: after.pid,
    workersBefore: before.workerPids,
    workersAfter: after.workerPids,
  };
});
