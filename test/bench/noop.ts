import { z } from 'zod';
import { defineKind } from '../../jobs/lib/kind.ts';
import { defineHandler } from '../../worker/kinds/handler.ts';

/** A job kind that does nothing: registered by the benchmark only, never shipped. */
export default defineHandler(
  defineKind({
    name: 'noop',
    description: 'does nothing (benchmark only)',
    request: z.object({ n: z.number().int().optional() }),
    retry: { attempts: 1, backoffMs: 1000 },
    resolve: async (req) => ({ target: null, script: null, params: req }),
    fromStored: (stored) => stored.params,
  }),
  async () => null,
);
