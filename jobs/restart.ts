import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { adapterFor } from '../worker/adapters/index.ts';
import type { ServiceState } from '../worker/adapters/types.ts';
import { ServiceNotRunningError } from '../worker/adapters/types.ts';
import { waitHealthy } from '../worker/health.ts';
import { JobValidationError, UnrecoverableError } from './lib/errors.ts';
import { defineKind } from './lib/kind.ts';
import { loadTarget, targetName } from './lib/targets.ts';

const request = z.object({ target: targetName, mode: z.enum(['restart', 'reload']).default('restart') });

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

/** Gracefully restarts or reloads a target through its service manager, then verifies it is up. */
export default defineKind({
  name: 'restart',
  description: 'Restart or reload a target and verify it came back',
  request,
  // Not idempotent: never retried automatically, and a lost restart stays lost.
  retry: { attempts: 1, backoffMs: 1000 },

  async resolve(req, env) {
    const target = await loadTarget(env.db, req.target);
    if (target.spec.manager === 'self') {
      throw new JobValidationError('Deckhand restarts itself from the settings page (a rolling restart), not as a job');
    }
    return { target: target.name, script: null, params: { mode: req.mode } };
  },

  fromStored: (stored) => ({ target: stored.target, mode: stored.params.mode }),

  async run(ctx, req, env) {
    const { spec } = await loadTarget(env.db, req.target);
    const adapter = adapterFor(spec, ctx.exec);
    await ctx.progress(10, `checking ${req.target}`);
    const before = await adapter.state();
    if (!before.running) throw new UnrecoverableError(`${req.target} is not running: ${before.detail}`);
    ctx.output(
      'stdout',
      `before: pid ${before.pid ?? '-'} workers [${before.workerPids.join(' ')}] ${before.detail}\n`,
    );

    await ctx.progress(30, `${req.mode === 'restart' ? 'restarting' : 'reloading'} ${req.target}`);
    await adapter.apply(req.mode).catch((err) => {
      throw err instanceof ServiceNotRunningError ? new UnrecoverableError(err.message) : err;
    });

    await ctx.progress(60, `verifying ${req.target}`);
    const deadline = Date.now() + VERIFY_TIMEOUT_MS;
    let after = await adapter.state();
    const done = (s: ServiceState) => (req.mode === 'restart' ? replaced(before, s) : s.running);
    while (!done(after) && Date.now() < deadline) {
      await sleep(250, undefined, { signal: ctx.signal });
      after = await adapter.state();
    }
    ctx.output('stdout', `after: pid ${after.pid ?? '-'} workers [${after.workerPids.join(' ')}] ${after.detail}\n`);
    if (!done(after)) {
      throw new Error(
        `${req.target} did not come back ${req.mode === 'restart' ? 'as new processes' : 'running'} within 30 s: ${after.detail}`,
      );
    }

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
