import { Hono } from 'hono';
import { listScripts } from '../../jobs/lib/manifest.ts';
import type { AppEnv } from '../context.ts';
import { requireRole } from '../middleware.ts';

export const scriptsApi = new Hono<AppEnv>().get('/', requireRole('viewer'), async (c) => {
  const scripts = await listScripts(c.var.deps.config.DECKHAND_SCRIPTS_DIR);
  return c.json({
    items: scripts.map((s) => ({
      name: s.name,
      description: s.manifest.description,
      timeoutSec: s.manifest.timeoutSec,
      params: s.manifest.params,
    })),
  });
});
