import { z } from 'zod';
import {
  deleteSchedule,
  forgetSchedule,
  getSchedule,
  insertSchedule,
  listRuns,
  type ScheduleRow,
  type ScheduleRunRow,
  setPaused,
} from '../db/schedules.ts';
import { cronProblem, nextRuns, removeScheduler, timezoneProblem, upsertScheduler } from '../jobs/lib/schedules.ts';
import type { SessionUser } from './auth/sessions.ts';
import type { AppDeps } from './context.ts';
import { badRequest, conflict, forbidden, HttpError, notFound, parseOr400, toHttpError } from './errors.ts';
import { resolveRequest } from './job-service.ts';
import { redactParams } from './serialize.ts';

export const newScheduleBody = z.strictObject({
  cron: z.string().min(1).max(200),
  tz: z.string().min(1).max(100).default('UTC'),
  /** A POST /api/jobs body, checked exactly as that route checks it. */
  job: z.record(z.string(), z.unknown()),
});
export type NewSchedule = z.infer<typeof newScheduleBody>;

const fieldError = (field: string, message: string) =>
  badRequest(`invalid ${field}: ${message}`, { formErrors: [], fieldErrors: { [field]: [message] } });

/** A job body's 400, its fields named under `job.` (e.g. `job.script`). */
function underJob(err: unknown): unknown {
  const e = toHttpError(err);
  if (e?.status !== 400) return err;
  const d = e.details as { formErrors?: string[]; fieldErrors?: Record<string, string[]> } | null;
  const fieldErrors = Object.fromEntries(Object.entries(d?.fieldErrors ?? {}).map(([k, v]) => [`job.${k}`, v]));
  const details = d?.fieldErrors ? { formErrors: d.formErrors ?? [], fieldErrors } : (e.details ?? null);
  return new HttpError(400, e.code, `job: ${e.message}`, details);
}

/** Validates, stores (with its audit row) and hands the schedule to BullMQ; nothing is kept if BullMQ refuses. */
export async function createSchedule(deps: AppDeps, user: SessionUser, body: unknown): Promise<string> {
  const s = parseOr400(newScheduleBody, body, 'schedule');
  const tzProblem = timezoneProblem(s.tz);
  if (tzProblem) throw fieldError('tz', tzProblem);
  const problem = cronProblem(s.cron, s.tz, deps.config.DECKHAND_SCHEDULE_MIN_INTERVAL_SEC);
  if (problem) throw fieldError('cron', problem);
  const stored = await resolveRequest(deps, s.job).catch((err: unknown) => {
    throw underJob(err);
  });
  if (deps.registry.get(stored.kind)?.adminOnly?.(stored) && user.role !== 'admin')
    throw forbidden(`only admins may schedule this ${stored.kind} job`);
  const summary = { cron: s.cron, tz: s.tz, job: shownJob(s.job) };
  const id = await insertSchedule(
    deps.db,
    { cron: s.cron, tz: s.tz, job: s.job, ownerId: user.id, ownerName: user.username },
    summary,
  );
  try {
    await upsertScheduler(deps.producer.queue, { id, cron: s.cron, tz: s.tz });
  } catch (err) {
    await forgetSchedule(deps.db, id);
    deps.log.warn({ err: String(err) }, 'could not create a BullMQ job scheduler');
    throw new HttpError(503, 'queue_unavailable', 'the job queue is unreachable; the schedule was not created');
  }
  return id;
}

export async function loadSchedule(deps: AppDeps, id: string): Promise<ScheduleRow> {
  const s = z.uuid().safeParse(id).success ? await getSchedule(deps.db, id) : null;
  if (!s) throw notFound('schedule');
  return s;
}

/** Pause, resume and delete belong to the schedule's owner and to admins. */
export async function ownedSchedule(deps: AppDeps, user: SessionUser, id: string): Promise<ScheduleRow> {
  const s = await loadSchedule(deps, id);
  if (user.role !== 'admin' && s.ownerId !== user.id)
    throw forbidden('only the owner of this schedule, or an admin, may change it');
  return s;
}

const queueDown = (what: string) => new HttpError(503, 'queue_unavailable', `the job queue is unreachable; ${what}`);

/** The row first, then BullMQ: a tick that comes in between sees the pause and runs nothing. */
export async function pauseSchedule(deps: AppDeps, user: SessionUser, s: ScheduleRow): Promise<void> {
  if (!(await setPaused(deps.db, s.id, true, { id: user.id, name: user.username })))
    throw conflict('the schedule is already paused');
  // If BullMQ is away now, the workers' schedule sync removes the scheduler later; the row rules meanwhile.
  await removeScheduler(deps.producer.queue, s.id).catch((err: unknown) =>
    deps.log.warn({ err: String(err), schedule: s.id }, 'pause: scheduler not removed yet; the sync will'),
  );
}

export async function resumeSchedule(deps: AppDeps, user: SessionUser, s: ScheduleRow): Promise<void> {
  if (!s.paused) throw conflict('the schedule is not paused');
  try {
    await upsertScheduler(deps.producer.queue, s);
  } catch {
    throw queueDown('the schedule stays paused');
  }
  if (!(await setPaused(deps.db, s.id, false, { id: user.id, name: user.username })))
    throw conflict('the schedule is not paused');
}

export async function removeSchedule(deps: AppDeps, user: SessionUser, s: ScheduleRow): Promise<void> {
  await deleteSchedule(deps.db, s.id, { id: user.id, name: user.username }, { cron: s.cron, job: shownJob(s.job) });
  await removeScheduler(deps.producer.queue, s.id).catch((err: unknown) =>
    deps.log.warn({ err: String(err), schedule: s.id }, 'delete: scheduler not removed yet; the sync will'),
  );
}

/** A job body as shown and audited: secret-looking parameters masked. */
export function shownJob(job: Record<string, unknown>): Record<string, unknown> {
  const params = job.params;
  const masked = redactParams(job);
  return params && typeof params === 'object' && !Array.isArray(params)
    ? { ...masked, params: redactParams(params as Record<string, unknown>) }
    : masked;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toApiRun(r: ScheduleRunRow) {
  return {
    fireAt: r.fireAt.toISOString(),
    at: r.at.toISOString(),
    outcome: r.outcome,
    catchUp: r.catchUp,
    reason: r.reason,
    job: r.job ? { ...r.job, finishedAt: iso(r.job.finishedAt), url: `/api/jobs/${r.job.id}` } : null,
  };
}

export function toApiSchedule(s: ScheduleRow, runs: ScheduleRunRow[], next = 5) {
  return {
    id: s.id,
    cron: s.cron,
    tz: s.tz,
    job: shownJob(s.job),
    owner: s.owner,
    paused: s.paused,
    blocked: s.blocked,
    createdAt: s.createdAt.toISOString(),
    nextRuns: s.paused ? [] : nextRuns(s.cron, s.tz, next).map((d) => d.toISOString()),
    lastRuns: runs.map(toApiRun),
    url: `/api/schedules/${s.id}`,
  };
}

export async function scheduleWithRuns(deps: AppDeps, s: ScheduleRow, runs = 20, next = 5) {
  return toApiSchedule(s, await listRuns(deps.db, s.id, runs), next);
}
