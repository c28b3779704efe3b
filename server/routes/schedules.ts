import { Hono } from 'hono';
import { listSchedules } from '../../db/schedules.ts';
import { shippedKinds } from '../../jobs/index.ts';
import type { AppEnv } from '../context.ts';
import { jsonBody } from '../errors.ts';
import { parseJobRequest } from '../job-service.ts';
import { requireRole } from '../middleware.ts';
import { apiDoc, type DocBody } from '../openapi/describe.ts';
import { jobRequestDocument } from '../openapi/job-request-doc.ts';
import { inputJsonSchema } from '../openapi/json-schema.ts';
import {
  createSchedule,
  loadSchedule,
  newScheduleBody,
  ownedSchedule,
  pauseSchedule,
  removeSchedule,
  resumeSchedule,
  scheduleWithRuns,
  toApiSchedule,
} from '../schedule-service.ts';

const tag = 'schedules';
const id = { id: { example: '00000000-0000-4000-8000-000000000000', description: 'A schedule id' } };

/** The schedule's fields, its `job` shown as the POST /api/jobs body it is (one alternative per kind). */
const scheduleBody: DocBody = {
  schema: {
    document: async () => {
      const js = inputJsonSchema(newScheduleBody);
      return { ...js, properties: { ...js.properties, job: jobRequestDocument(shippedKinds) } };
    },
    parse: (input: unknown) => {
      const s = newScheduleBody.parse(input);
      parseJobRequest(shippedKinds, s.job);
      return s;
    },
  },
  examples: {
    nightlyScript: {
      cron: '0 3 * * *',
      tz: 'UTC',
      job: { kind: 'script', script: 'disk-usage', params: { path: '/var' } },
    },
    weeklyReload: { cron: '30 4 * * 1', tz: 'Europe/Paris', job: { kind: 'restart', target: 'web', mode: 'reload' } },
  },
};

const scheduleDoc = '`{id, cron, tz, job, owner, paused, blocked, nextRuns, lastRuns}`';

/** Schedules (DESIGN §11): everyone reads them; operators create them; owners and admins change them. */
export const schedulesApi = new Hono<AppEnv>()
  .post(
    '/',
    apiDoc({
      tag,
      summary: 'Schedule a job request',
      description:
        'A cron expression (5 fields, or 6 with seconds first) in an IANA time zone, and a POST /api/jobs body, ' +
        'checked as that route checks it. Each run is a job requested by the schedule’s owner; a run is ' +
        'skipped while the owner lacks the role. After a downtime there is at most one catch-up run.',
      role: 'operator',
      body: scheduleBody,
      ok: { status: 201, description: scheduleDoc },
    }),
    requireRole('operator'),
    async (c) => {
      const created = await createSchedule(c.var.deps, c.var.user!, await jsonBody(c.req));
      return c.json(await scheduleWithRuns(c.var.deps, await loadSchedule(c.var.deps, created)), 201);
    },
  )
  .get(
    '/',
    apiDoc({
      tag,
      summary: 'List schedules',
      role: 'viewer',
      ok: { status: 200, description: '`{items:[Schedule]}`' },
    }),
    requireRole('viewer'),
    async (c) => {
      const items = await listSchedules(c.var.deps.db);
      return c.json({ items: items.map((s) => toApiSchedule(s, [], 1)) });
    },
  )
  .get(
    '/:id',
    apiDoc({
      tag,
      summary: 'A schedule with its next runs and its last runs (and their jobs)',
      role: 'viewer',
      params: id,
      ok: { status: 200, description: scheduleDoc },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => c.json(await scheduleWithRuns(c.var.deps, await loadSchedule(c.var.deps, c.req.param('id')))),
  )
  .post(
    '/:id/pause',
    apiDoc({
      tag,
      summary: 'Pause a schedule (its BullMQ scheduler is removed)',
      description: 'The owner or an admin.',
      role: 'operator',
      params: id,
      ok: { status: 200, description: scheduleDoc },
      errors: [404, 409],
    }),
    requireRole('operator'),
    async (c) => {
      const s = await ownedSchedule(c.var.deps, c.var.user!, c.req.param('id'));
      await pauseSchedule(c.var.deps, c.var.user!, s);
      return c.json(await scheduleWithRuns(c.var.deps, await loadSchedule(c.var.deps, s.id)));
    },
  )
  .post(
    '/:id/resume',
    apiDoc({
      tag,
      summary: 'Resume a paused schedule from its next occurrence',
      description: 'The owner or an admin.',
      role: 'operator',
      params: id,
      ok: { status: 200, description: scheduleDoc },
      errors: [404, 409],
    }),
    requireRole('operator'),
    async (c) => {
      const s = await ownedSchedule(c.var.deps, c.var.user!, c.req.param('id'));
      await resumeSchedule(c.var.deps, c.var.user!, s);
      return c.json(await scheduleWithRuns(c.var.deps, await loadSchedule(c.var.deps, s.id)));
    },
  )
  .delete(
    '/:id',
    apiDoc({
      tag,
      summary: 'Delete a schedule and its BullMQ scheduler (its past jobs stay)',
      description: 'The owner or an admin.',
      role: 'operator',
      params: id,
      ok: { status: 204, description: 'Deleted' },
      errors: [404],
    }),
    requireRole('operator'),
    async (c) => {
      const s = await ownedSchedule(c.var.deps, c.var.user!, c.req.param('id'));
      await removeSchedule(c.var.deps, c.var.user!, s);
      return c.body(null, 204);
    },
  );
