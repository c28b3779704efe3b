import { asc, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { audit } from '../../db/audit.ts';
import { forceReleaseTarget, lockHolder } from '../../db/locks.ts';
import { targets } from '../../db/schema.ts';
import type { AppEnv } from '../context.ts';
import { conflict, jsonBody, notFound } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import { describeTarget, describeTargets, findTargetRow, saveTarget } from '../target-service.ts';

export const targetsApi = new Hono<AppEnv>()
  .get('/', requireRole('viewer'), async (c) => {
    const rows = await c.var.deps.db.select().from(targets).orderBy(asc(targets.name));
    return c.json({ items: await describeTargets(c.var.deps, rows) });
  })
  .get('/:name', requireRole('viewer'), async (c) => {
    const row = await findTargetRow(c.var.deps.db, c.req.param('name'));
    if (!row) throw notFound('target');
    return c.json(await describeTarget(c.var.deps, row));
  })
  .put('/:name', requireRole('admin'), async (c) => {
    const body = await jsonBody(c.req.raw);
    const { row, created } = await saveTarget(c.var.deps, c.var.user!, c.req.param('name'), body);
    return c.json(await describeTarget(c.var.deps, row), created ? 201 : 200);
  })
  .delete('/:name', requireRole('admin'), async (c) => {
    const { db } = c.var.deps;
    const name = c.req.param('name');
    const holder = await lockHolder(db, name);
    if (holder?.status === 'active') throw conflict(`job ${holder.jobId} is running on ${name}`, holder);
    const gone = await db.delete(targets).where(eq(targets.name, name)).returning({ name: targets.name });
    if (gone.length === 0) throw notFound('target');
    const user = c.var.user!;
    await audit(db, { id: user.id, name: user.username }, 'target.delete', name);
    return c.body(null, 204);
  })
  .delete('/:name/lock', requireRole('admin'), async (c) => {
    const { db } = c.var.deps;
    const name = c.req.param('name');
    const released = await forceReleaseTarget(db, name);
    if (!released) throw notFound('lock');
    const user = c.var.user!;
    await audit(db, { id: user.id, name: user.username }, 'target.lock.force_release', name, { heldBy: released });
    return c.json({ target: name, released });
  });
