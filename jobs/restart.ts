import { z } from 'zod';
import { adapterFor } from '../worker/adapters/index.ts';
import { waitHealthy } from '../worker/health.ts';
import { verifiedRestart } from '../worker/verified-restart.ts';
import { JobValidationError } from './lib/errors.ts';
import { defineKind } from './lib/kind.ts';
import { loadTarget, targetName } from './lib/targets.ts';

const request = z.object({ target: targetName, mode: z.enum(['restart', 'reload']).default('restart') });

/** Gracefully restarts or reloads a target through its service manager, then verifies it is up. */
export default defineKind({
  name: 'restart',
  description: 'Restart or reload a target and verify it came back',
  request,
  // Not idempotent: never retried automatically, and a lost restart stays lost.
  retry: { attempts: 1, backoffMs: 1000 },

  async resolve(req, env) {
    const target = await loadTarget(env, req.target);
    if (target.spec.manager === 'self') {
      throw new JobValidationError('Deckhand restarts itself from the settings page (a rolling restart), not as a job');
    }
    return { target: target.name, script: null, params: { mode: req.mode } };
  },

  fromStored: (stored) => ({ target: stored.target, mode: stored.params.mode }),

  async run(ctx, req, env) {
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
  },
});
