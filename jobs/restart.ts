import { z } from 'zod';
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
});
