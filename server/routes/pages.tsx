import { type Context, Hono } from 'hono';
import { etag } from 'hono/etag';
import { z } from 'zod';
import { listEvents, listJobs } from '../../db/job-reads.ts';
import { roleAtLeast } from '../../db/users.ts';
import { JobValidationError } from '../../jobs/lib/errors.ts';
import { listScripts } from '../../jobs/lib/manifest.ts';
import { JobLive, liveVersion } from '../../views/job-live.tsx';
import { Dashboard, JobPage, JobRowView, NewerJobsPoller } from '../../views/jobs.tsx';
import { FormError, ScriptsPage } from '../../views/scripts.tsx';
import type { AppEnv } from '../context.ts';
import { pageOf } from '../context.ts';
import { HttpError, parseOr400 } from '../errors.ts';
import { loadJob, ownsJob, resolveRequest, submitJob } from '../job-service.ts';
import { requireRole } from '../middleware.ts';
import { decodeCursor, encodeCursor, redactParams } from '../serialize.ts';
import { overviewViews } from '../status-views.ts';

const OUTPUT_PAGE = 2000;

/** A poll's cursor: the last event (or job number) the page already shows. */
const pollCursor = z.coerce.number().int().min(0).default(0);
const numQuery = z.object({ after: pollCursor });
/** The live fragment's poll: its cursor and the digest of what the browser shows (views/job-live.tsx). */
const liveQuery = z.strictObject({
  after: pollCursor,
  v: z
    .string()
    .regex(/^[\w-]{22}$/)
    .optional(),
});

/**
 * The dashboard row answers an unchanged poll with 304 (the live fragment has its own digest, below).
 * The ETag is the digest of the fragment just rendered, so nothing is cached: any difference (a new event, a status, a cancel request, a relative
 * time that moved on, another user's buttons) is a 200 with the new content. The browser keeps the
 * body and revalidates each poll (private, no-cache); htmx 4 swaps nothing on a 304.
 */
const revalidated = etag();
const POLLED = { 'Cache-Control': 'private, no-cache' };

/** The job, and what this user may see and do with it. */
async function jobFor(c: Context<AppEnv>, id: string) {
  const job = await loadJob(c.get('deps'), id);
  const owns = ownsJob(c.get('user')!, job);
  // Cancel and Run again need the operator role as well (a demoted owner keeps only the output).
  return { job, owns, canAct: owns && roleAtLeast(c.get('user')!.role, 'operator') };
}

/** Reads the job first: once it is terminal, every output event already exists. */
async function liveState(c: Context<AppEnv>, access: Awaited<ReturnType<typeof jobFor>>, after: number) {
  const { job, owns, canAct } = access;
  // Steps are as public as the job's status; output belongs to its owner (DESIGN §4).
  const types = owns ? ['output', 'progress'] : ['progress'];
  // Every event is counted in last_seq by the statement that writes it: none beyond `after`, nothing to read.
  const events = job.lastSeq > after ? await listEvents(c.get('deps').db, job.id, after, OUTPUT_PAGE, types) : [];
  const upTo = events.length === OUTPUT_PAGE ? (events.at(-1)?.seq ?? after) : job.lastSeq;
  const seen = events.filter((e) => e.seq <= upTo);
  return {
    job,
    owns,
    canAct,
    output: seen.filter((e) => e.type === 'output'),
    steps: seen.filter((e) => e.type === 'progress' && e.data.step),
    lastSeq: upTo,
  };
}

/** Form fields as sent by the generated script form: empty fields mean "not given". */
function formParams(form: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(form).filter(([k, v]) => k !== '_csrf' && v !== ''));
}

export const pageRoutes = new Hono<AppEnv>()
  .get('/', requireRole('viewer'), async (c) => {
    const cursor = c.req.query('cursor');
    const before = cursor ? (decodeCursor(cursor) ?? undefined) : undefined;
    const page = await listJobs(c.var.deps.db, { limit: 25, before });
    const { hosts, rows } = await overviewViews(c.var.deps);
    return c.html(
      <Dashboard
        hosts={hosts}
        targets={rows}
        {...pageOf(c)}
        jobs={page.items}
        olderCursor={page.nextBefore === null ? null : encodeCursor(page.nextBefore)}
        newest={!cursor}
      />,
    );
  })
  .get('/jobs/:id', requireRole('viewer'), async (c) => {
    const s = await liveState(c, await jobFor(c, c.req.param('id')), 0);
    return c.html(
      <JobPage
        {...pageOf(c)}
        job={s.job}
        params={redactParams(s.job.params)}
        canAct={s.canAct}
        output={s.owns ? s.output : null}
        steps={s.steps}
        lastSeq={s.lastSeq}
      />,
    );
  })
  .get('/fragments/jobs/newer', requireRole('viewer'), async (c) => {
    const { after } = parseOr400(numQuery, c.req.query(), 'query');
    const { items: fresh } = await listJobs(c.var.deps.db, { limit: 50, after });
    return c.html(
      <>
        <NewerJobsPoller afterNum={fresh[0]?.num ?? after} />
        {fresh.length > 0 && (
          <hx-partial hx-target="#job-rows" hx-swap="afterbegin">
            {fresh.map((j) => (
              <JobRowView job={j} />
            ))}
          </hx-partial>
        )}
      </>,
    );
  })
  .get('/fragments/jobs/:id/row', requireRole('viewer'), revalidated, async (c) => {
    return c.html(<JobRowView job={await loadJob(c.get('deps'), c.req.param('id'))} />, 200, POLLED);
  })
  .get('/fragments/jobs/:id/live', requireRole('viewer'), async (c) => {
    const { after, v } = parseOr400(liveQuery, c.req.query(), 'query');
    const known = await jobFor(c, c.req.param('id'));
    // Nothing since the cursor and the same digest: the browser already shows exactly this.
    if (v && known.job.lastSeq === after && liveVersion(known.job, known.canAct, after) === v) {
      return c.body(null, 204, POLLED);
    }
    const s = await liveState(c, known, after);
    return c.html(
      <JobLive job={s.job} canAct={s.canAct} lastSeq={s.lastSeq} newOutput={s.output} newSteps={s.steps} />,
      200,
      POLLED,
    );
  })
  .get('/scripts', requireRole('viewer'), async (c) => {
    const scripts = await listScripts(c.var.deps.config.DECKHAND_SCRIPTS_DIR);
    return c.html(<ScriptsPage {...pageOf(c)} scripts={scripts} />);
  })
  .post('/ui/scripts/:name/run', requireRole('operator'), async (c) => {
    const params = formParams(await c.req.parseBody());
    try {
      const stored = await resolveRequest(c.var.deps, { kind: 'script', script: c.req.param('name'), params });
      const { id } = await submitJob(c.var.deps, c.var.user!, stored);
      c.header('HX-Redirect', `/jobs/${id}`);
      return c.body(null, 204);
    } catch (err) {
      if (err instanceof JobValidationError || (err instanceof HttpError && err.status === 400)) {
        return c.html(<FormError message={err.message} details={err.details} />, 400);
      }
      throw err;
    }
  });
