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
import { apiDoc } from '../openapi/describe.ts';
import { jobRequestBody } from '../openapi/job-request-doc.ts';
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
  const job = await loadJob(c.get('deps'), c.req.param('id') ?? '');
  const user = c.get('user')!;
  await setJobPinned(c.get('deps').db, job.id, pinned);
  await audit(c.get('deps').db, { id: user.id, name: user.username }, pinned ? 'job.pin' : 'job.unpin', job.id);
  return c.json({ id: job.id, pinned, url: jobUrl(job.id) });
};

const jobAccepted = z.object({ id: z.uuid(), status: z.enum(jobStatuses), url: z.string() });
const jobId = { id: { example: '0b9f6c2e-4d1a-4c3e-9a51-7d2f3b8e1c40', description: 'A job id (uuid)' } };
const tag = 'jobs';

export const jobsApi = new Hono<AppEnv>()
  .post(
    '/',
    apiDoc({
      tag,
      summary: 'Request a job',
      description:
        'Records the job, then enqueues it; 202 once both are done. `onBusy: "reject"` answers 409 when the ' +
        'target is busy. An `Idempotency-Key` header makes a repeated request return the same job.',
      role: 'operator',
      headers: { 'Idempotency-Key': { schema: idempotencyKey, description: 'Repeat a request safely' } },
      body: jobRequestBody({
        script: { kind: 'script', script: 'disk-usage', params: { path: '/var', depth: 2 } },
        restart: { kind: 'restart', target: 'web', mode: 'reload', onBusy: 'reject' },
      }),
      ok: { status: 202, description: 'Recorded and queued', schema: jobAccepted },
      errors: [409, 422],
    }),
    requireRole('operator'),
    async (c) => {
      const user = c.get('user')!;
      const key = c.req.header('Idempotency-Key');
      const idem = key === undefined ? null : parseOr400(idempotencyKey, key, 'Idempotency-Key header');
      const stored = await resolveRequest(c.get('deps'), await jsonBody(c.req));
      const { id, created } = await submitJob(c.get('deps'), user, stored, { idempotencyKey: idem });
      // A repeated Idempotency-Key answers with the existing job as it is now.
      const status = created ? 'queued' : ((await getJob(c.get('deps').db, id))?.status ?? 'queued');
      if (c.req.header('HX-Request')) c.header('HX-Redirect', `/jobs/${id}`);
      return c.json({ id, status, url: jobUrl(id) }, 202);
    },
  )
  .get(
    '/',
    apiDoc({
      tag,
      summary: 'List jobs, newest first',
      role: 'viewer',
      query: listQuery,
      ok: { status: 200, description: '`{items, nextCursor}`' },
    }),
    requireRole('viewer'),
    async (c) => {
      const q = parseOr400(listQuery, c.req.query(), 'query');
      const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
      if (before === null) throw badRequest('invalid cursor');
      const page = await listJobs(c.get('deps').db, { ...q, before });
      return c.json({
        items: page.items.map(toApiJob),
        nextCursor: page.nextBefore === null ? null : encodeCursor(page.nextBefore),
      });
    },
  )
  .get(
    '/:id',
    apiDoc({
      tag,
      summary: 'A job',
      role: 'viewer',
      params: jobId,
      ok: { status: 200, description: 'The job (params with secrets redacted)' },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => {
      return c.json(toApiJob(await loadJob(c.get('deps'), c.req.param('id'))));
    },
  )
  .get(
    '/:id/events',
    apiDoc({
      tag,
      summary: "A job's events after a sequence number",
      role: 'viewer',
      params: jobId,
      query: afterQuery,
      ok: { status: 200, description: '`{items:[{seq, at, type, data}]}`' },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => {
      const job = await ownedJob(c.get('deps'), c.get('user')!, c.req.param('id'));
      const q = parseOr400(afterQuery, c.req.query(), 'query');
      const events = await listEvents(c.get('deps').db, job.id, q.after, q.limit);
      return c.json({ items: events.map(toApiEvent) });
    },
  )
  .get(
    '/:id/output',
    apiDoc({
      tag,
      summary: "A job's output after a sequence number",
      description: 'Non-admins read the output of their own jobs only.',
      role: 'viewer',
      params: jobId,
      query: afterQuery,
      ok: { status: 200, description: '`{chunks:[{seq, stream, text}], done}`' },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => {
      const job = await ownedJob(c.get('deps'), c.get('user')!, c.req.param('id'));
      const q = parseOr400(afterQuery, c.req.query(), 'query');
      const events = await listEvents(c.get('deps').db, job.id, q.after, q.limit, ['output']);
      const chunks = events.map((e) => ({ seq: e.seq, stream: e.data.stream, text: e.data.text }));
      return c.json({ chunks, done: isTerminal(job.status) && events.length < q.limit });
    },
  )
  .post(
    '/:id/cancel',
    apiDoc({
      tag,
      summary: 'Cancel a job',
      description:
        'A queued job is removed; an active one gets SIGTERM, then SIGKILL, and is cancelled once its process has exited.',
      role: 'operator',
      params: jobId,
      ok: { status: 202, description: 'Cancelling', schema: jobAccepted },
      errors: [404, 409],
    }),
    requireRole('operator'),
    async (c) => {
      const job = await ownedJob(c.get('deps'), c.get('user')!, c.req.param('id'));
      const status = await cancelJob(c.get('deps'), c.get('user')!, job);
      return c.json({ id: job.id, status, url: jobUrl(job.id) }, 202);
    },
  )
  .post(
    '/:id/pin',
    apiDoc({
      tag,
      summary: 'Pin a job: pruning keeps it and its output whatever its age',
      role: 'admin',
      params: jobId,
      ok: { status: 200, description: '`{id, pinned, url}`' },
      errors: [404],
    }),
    requireRole('admin'),
    pinRoute(true),
  )
  .post(
    '/:id/unpin',
    apiDoc({
      tag,
      summary: 'Unpin a job (pruning treats it by age again)',
      role: 'admin',
      params: jobId,
      ok: { status: 200, description: '`{id, pinned, url}`' },
      errors: [404],
    }),
    requireRole('admin'),
    pinRoute(false),
  )
  .post(
    '/:id/retry',
    apiDoc({
      tag,
      summary: 'Retry a job as a new job',
      role: 'operator',
      params: jobId,
      ok: { status: 202, description: 'The new job, queued', schema: jobAccepted.extend({ retryOf: z.uuid() }) },
      errors: [404, 409],
    }),
    requireRole('operator'),
    async (c) => {
      const job = await ownedJob(c.get('deps'), c.get('user')!, c.req.param('id'));
      const { id } = await retryJob(c.get('deps'), c.get('user')!, job);
      if (c.req.header('HX-Request')) c.header('HX-Redirect', `/jobs/${id}`);
      return c.json({ id, status: 'queued', url: jobUrl(id), retryOf: job.id }, 202);
    },
  );
