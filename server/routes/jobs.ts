import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { audit } from '../../db/audit.ts';
import { setJobPinned } from '../../db/job-pins.ts';
import { getJob, listEvents, listJobs } from '../../db/job-reads.ts';
import { isTerminal, jobStatuses } from '../../db/job-states.ts';
import type { AppEnv } from '../context.ts';
import { badRequest, jsonBody, parseOr400 } from '../errors.ts';
import { cancelJob, idempotencyKey, loadJob, ownedJob, resolveRequest, retryJob, submitJob } from '../job-service.ts';
import { requireRole } from '../middleware.ts';
import { decodeCursor, encodeCursor, toApiEvent, toApiJob } from '../serialize.ts';

const listQuery = z.object({
  status: z.enum(jobStatuses).optional(),
  kind: z.string().max(40).optional(),
  target: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(100).optional(),
});

const afterQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});

const jobUrl = (id: string) => `/api/jobs/${id}`;

/** Pin (pruning keeps the job and its output whatever its age) or unpin; admins only, audited. */
const pinRoute = (pinned: boolean) => async (c: Context<AppEnv>) => {
  const job = await loadJob(c.var.deps, c.req.param('id') ?? '');
  const user = c.var.user!;
  await setJobPinned(c.var.deps.db, job.id, pinned);
  await audit(c.var.deps.db, { id: user.id, name: user.username }, pinned ? 'job.pin' : 'job.unpin', job.id);
  return c.json({ id: job.id, pinned, url: jobUrl(job.id) });
};

export const jobsApi = new Hono<AppEnv>()
  .post('/', requireRole('operator'), async (c) => {
    const user = c.var.user!;
    const key = c.req.header('Idempotency-Key');
    const idem = key === undefined ? null : parseOr400(idempotencyKey, key, 'Idempotency-Key header');
    const stored = await resolveRequest(c.var.deps, await jsonBody(c.req.raw));
    const { id, created } = await submitJob(c.var.deps, user, stored, { idempotencyKey: idem });
    // A repeated Idempotency-Key answers with the existing job as it is now.
    const status = created ? 'queued' : ((await getJob(c.var.deps.db, id))?.status ?? 'queued');
    if (c.req.header('HX-Request')) c.header('HX-Redirect', `/jobs/${id}`);
    return c.json({ id, status, url: jobUrl(id) }, 202);
  })
  .get('/', requireRole('viewer'), async (c) => {
    const q = parseOr400(listQuery, c.req.query(), 'query');
    const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    if (before === null) throw badRequest('invalid cursor');
    const page = await listJobs(c.var.deps.db, { ...q, before });
    return c.json({
      items: page.items.map(toApiJob),
      nextCursor: page.nextBefore === null ? null : encodeCursor(page.nextBefore),
    });
  })
  .get('/:id', requireRole('viewer'), async (c) => {
    return c.json(toApiJob(await loadJob(c.var.deps, c.req.param('id'))));
  })
  .get('/:id/events', requireRole('viewer'), async (c) => {
    const job = await ownedJob(c.var.deps, c.var.user!, c.req.param('id'));
    const q = parseOr400(afterQuery, c.req.query(), 'query');
    const events = await listEvents(c.var.deps.db, job.id, q.after, q.limit);
    return c.json({ items: events.map(toApiEvent) });
  })
  .get('/:id/output', requireRole('viewer'), async (c) => {
    const job = await ownedJob(c.var.deps, c.var.user!, c.req.param('id'));
    const q = parseOr400(afterQuery, c.req.query(), 'query');
    const events = await listEvents(c.var.deps.db, job.id, q.after, q.limit, ['output']);
    const chunks = events.map((e) => ({ seq: e.seq, stream: e.data.stream, text: e.data.text }));
    return c.json({ chunks, done: isTerminal(job.status) && events.length < q.limit });
  })
  .post('/:id/cancel', requireRole('operator'), async (c) => {
    const job = await ownedJob(c.var.deps, c.var.user!, c.req.param('id'));
    const status = await cancelJob(c.var.deps, c.var.user!, job);
    return c.json({ id: job.id, status, url: jobUrl(job.id) }, 202);
  })
  .post('/:id/pin', requireRole('admin'), pinRoute(true))
  .post('/:id/unpin', requireRole('admin'), pinRoute(false))
  .post('/:id/retry', requireRole('operator'), async (c) => {
    const job = await ownedJob(c.var.deps, c.var.user!, c.req.param('id'));
    const { id } = await retryJob(c.var.deps, c.var.user!, job);
    if (c.req.header('HX-Request')) c.header('HX-Redirect', `/jobs/${id}`);
    return c.json({ id, status: 'queued', url: jobUrl(id), retryOf: job.id }, 202);
  });
