import { z } from 'zod';
import { JobValidationError } from './lib/errors.ts';
import { defineKind, type StoredRequest } from './lib/kind.ts';
import { loadTarget, targetName } from './lib/targets.ts';

export const serviceModes = ['restart', 'reload', 'start', 'stop'] as const;
export type ServiceMode = (typeof serviceModes)[number];

const request = z.strictObject({ target: targetName, mode: z.enum(serviceModes).default('restart') });

/** Stopping a service takes it away from everyone: admins only (DESIGN §10), checked at enqueue and in the worker. */
export const adminOnlyMode = (stored: StoredRequest): boolean => stored.params.mode === 'stop';

/**
 * Service control through the target's manager (DESIGN §10): restart (which starts a stopped
 * service), reload, start or stop, each verified (worker/kinds/restart.ts).
 */
export default defineKind({
  name: 'restart',
  description: 'Restart, reload, start or stop a target and verify the outcome',
  request,
  // Not idempotent: never retried automatically, and a lost restart stays lost.
  retry: { attempts: 1, backoffMs: 1000 },
  adminOnly: adminOnlyMode,

  async resolve(req, env) {
    const target = await loadTarget(env, req.target);
    if (target.spec.manager === 'self') {
      throw new JobValidationError('Deckhand restarts itself from the settings page (a rolling restart), not as a job');
    }
    if (req.mode === 'start' && target.spec.manager === 'signal') {
      throw new JobValidationError(
        `${target.name} is a signal (pidfile) target: Deckhand cannot start it; start it with the manager that runs it`,
        { mode: ['the signal manager can restart, reload and stop, not start'] },
      );
    }
    return { target: target.name, script: null, params: { mode: req.mode } };
  },

  fromStored: (stored) => ({ target: stored.target, mode: stored.params.mode }),
});
