import { Hono } from 'hono';
import { listScripts } from '../../jobs/lib/manifest.ts';
import type { AppEnv } from '../context.ts';
import { requireRole } from '../middleware.ts';
import { apiDoc } from '../openapi/describe.ts';

export const scriptsApi = new Hono<AppEnv>().get(
  '/',
  apiDoc({
    tag: 'scripts',
    summary: 'The allow-listed scripts with their parameter schemas',
    role: 'viewer',
    ok: { status: 200, description: '`{items:[{name, description, timeoutSec, params}]}`' },
  }),
  requireRole('viewer'),
  async (c) => {
    const scripts = await listScripts(c.var.deps.config.DECKHAND_SCRIPTS_DIR);
    return c.json({
      items: scripts.map((s) => ({
        name: s.name,
        description: s.manifest.description,
        timeoutSec: s.manifest.timeoutSec,
        params: s.manifest.params,
      })),
    });
  },
);
