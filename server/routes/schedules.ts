import { Hono } from 'hono';
import { listSchedules } from '../../db/schedules.ts';
import type { AppEnv } from '../context.ts';
import { jsonBody } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import {
  createSchedule,
  loadSchedule,
  ownedSchedule,
  pauseSchedule,
  removeSchedule,
  resumeSchedule,
  scheduleWithRuns,
  toApiSchedule,
} from '../schedule-service.ts';

/** Schedules (DESIGN §11): everyone reads them; operators create them; owners and admins change them. */
export const schedulesApi = new Hono<AppEnv>()
  .post('/', requireRole('operator'), async (c) => {
    const id = await createSchedule(c.var.deps, c.var.user!, await jsonBody(c.req.raw));
    return c.json(await scheduleWithRuns(c.var.deps, await loadSchedule(c.var.deps, id)), 201);
  })
  .get('/', requireRole('viewer'), async (c) => {
    const items = await listSchedules(c.var.deps.db);
    return c.json({ items: items.map((s) => toApiSchedule(s, [], 1)) });
  })
  .get('/:id', requireRole('viewer'), async (c) => {
    return c.json(await scheduleWithRuns(c.var.deps, await loadSchedule(c.var.deps, c.req.param('id'))));
  })
  .post('/:id/pause', requireRole('operator'), async (c) => {
    const s = await ownedSchedule(c.var.deps, c.var.user!, c.req.param('id'));
    await pauseSchedule(c.var.deps, c.var.user!, s);
    return c.json(await scheduleWithRuns(c.var.deps, await loadSchedule(c.var.deps, s.id)));
  })
  .post('/:id/resume', requireRole('operator'), async (c) => {
    const s = await ownedSchedule(c.var.deps, c.var.user!, c.req.param('id'));
    await resumeSchedule(c.var.deps, c.var.user!, s);
    return c.json(await scheduleWithRuns(c.var.deps, await loadSchedule(c.var.deps, s.id)));
  })
  .delete('/:id', requireRole('operator'), async (c) => {
    const s = await ownedSchedule(c.var.deps, c.var.user!, c.req.param('id'));
    await removeSchedule(c.var.deps, c.var.user!, s);
    return c.body(null, 204);
  });
