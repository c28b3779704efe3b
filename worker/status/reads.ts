import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { targets } from '../../db/schema.ts';
import { HostReadError } from '../../jobs/lib/host-reads.ts';
import { targetName } from '../../jobs/lib/targets.ts';
import type { HostReadDeps } from '../host-reads/index.ts';
import type { HostReadHandlers } from '../host-server.ts';
import { readHostFigures } from './host-figures.ts';
import { probeTarget } from './target-probe.ts';

const statusParams = z.strictObject({ target: targetName });
const figuresParams = z.strictObject({});

/** The `target-status` and `host-figures` live reads (DESIGN §9): what the publisher writes, sampled now. */
export function statusReads(deps: HostReadDeps): HostReadHandlers {
  return {
    'target-status': async (raw) => {
      const p = statusParams.parse(raw);
      const [row] = await deps.db.select().from(targets).where(eq(targets.name, p.target));
      if (!row) throw new HostReadError(404, 'not_found', `no target named ${p.target}`);
      const host = row.host ?? deps.config.DECKHAND_HOST_NAME;
      if (host !== deps.config.DECKHAND_HOST_NAME) {
        throw new HostReadError(409, 'wrong_host', `target ${p.target} belongs to host ${host}`);
      }
      return probeTarget(row.spec, deps.config.DECKHAND_MANAGED_PATHS);
    },
    'host-figures': async (raw) => {
      figuresParams.parse(raw);
      return readHostFigures();
    },
  };
}
