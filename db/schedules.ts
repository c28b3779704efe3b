import { sql } from 'drizzle-orm';
import type { Db } from './client.ts';

/**
 * Schedules and their runs. A tick's claim and each run it records are single statements, as in
 * db/jobs.ts: the schedule's state and its history cannot disagree.
 */

export interface ScheduleRow {
  id: string;
  cron: string;
  tz: string;
  job: Record<string, unknown>;
  ownerId: string;
  owner: string;
  paused: boolean;
  blocked: string | null;
  lastFireAt: Date | null;
  createdAt: Date;
}

export interface ScheduleRunRow {
  id: number;
  fireAt: Date;
  at: Date;
  outcome: 'started' | 'skipped' | 'failed';
  catchUp: boolean;
  reason: string | null;
  job: { id: string; status: string; finishedAt: Date | null; error: string | null } | null;
}

/** The owner as a tick sees them now: their role and whether they are disabled. */
export interface TickClaim extends ScheduleRow {
  ownerRole: string;
  ownerDisabled: boolean;
}

type Row = Record<string, unknown>;
const rows = async (db: Db, q: ReturnType<typeof sql>) => (await db.execute(q)).rows as Row[];
const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

function toSchedule(r: Row): ScheduleRow {
  return {
    id: String(r.id),
    cron: String(r.cron),
    tz: String(r.tz),
    job: r.job as Record<string, unknown>,
    ownerId: String(r.owner_id),
    owner: String(r.owner),
    paused: Boolean(r.paused),
    blocked: (r.blocked as string | null) ?? null,
    lastFireAt: date(r.last_fire_at),
    createdAt: new Date(r.created_at as string),
  };
}

const SELECT = sql`SELECT s.*, u.username AS owner FROM schedules s JOIN users u ON u.id = s.owner_id`;

/** Inserts the schedule and its audit row in one statement. */
export async function insertSchedule(
  db: Db,
  s: { cron: string; tz: string; job: Record<string, unknown>; ownerId: string; ownerName: string },
  auditDetails: Record<string, unknown>,
): Promise<string> {
  const [r] = await rows(
    db,
    sql`WITH s AS (
      INSERT INTO schedules (cron, tz, job, owner_id) VALUES (${s.cron}, ${s.tz}, ${JSON.stringify(s.job)}::jsonb, ${s.ownerId})
      RETURNING id),
    a AS (INSERT INTO audit_log (actor_id, actor, action, subject, details)
      SELECT ${s.ownerId}::uuid, ${s.ownerName}, 'schedule.create', id::text, ${JSON.stringify(auditDetails)}::jsonb FROM s)
    SELECT id FROM s`,
  );
  return String(r!.id);
}

/** For a create whose BullMQ scheduler could not be made: nothing of it is kept, its audit row neither. */
export async function forgetSchedule(db: Db, id: string): Promise<void> {
  await db.execute(sql`WITH a AS (DELETE FROM audit_log WHERE action = 'schedule.create' AND subject = ${id})
    DELETE FROM schedules WHERE id = ${id}::uuid`);
}

export async function getSchedule(db: Db, id: string): Promise<ScheduleRow | null> {
  const [r] = await rows(db, sql`${SELECT} WHERE s.id = ${id}::uuid`);
  return r ? toSchedule(r) : null;
}

export async function listSchedules(db: Db): Promise<ScheduleRow[]> {
  return (await rows(db, sql`${SELECT} ORDER BY s.created_at DESC, s.id`)).map(toSchedule);
}

/**
 * Schedules BullMQ should be firing: every one that is not paused. `fresh` marks one created in the
 * last `graceSec` seconds, whose create may still be making its scheduler.
 */
export async function activeScheduleIds(
  db: Db,
  graceSec = 30,
): Promise<Map<string, { cron: string; tz: string; fresh: boolean }>> {
  const r = await rows(
    db,
    sql`SELECT id, cron, tz, created_at > now() - make_interval(secs => ${graceSec}) AS fresh
      FROM schedules WHERE NOT paused`,
  );
  return new Map(r.map((x) => [String(x.id), { cron: String(x.cron), tz: String(x.tz), fresh: x.fresh === true }]));
}

/** Pauses or resumes, with its audit row; false when it was already so (or is gone). */
export async function setPaused(db: Db, id: string, paused: boolean, actor: { id: string; name: string }) {
  const [r] = await rows(
    db,
    sql`WITH s AS (UPDATE schedules SET paused = ${paused} WHERE id = ${id}::uuid AND paused <> ${paused} RETURNING id),
    a AS (INSERT INTO audit_log (actor_id, actor, action, subject)
      SELECT ${actor.id}::uuid, ${actor.name}, ${paused ? 'schedule.pause' : 'schedule.resume'}, id::text FROM s)
    SELECT id FROM s`,
  );
  return Boolean(r);
}

/** Deletes the schedule (its runs go with it; their jobs stay), with its audit row. */
export async function deleteSchedule(db: Db, id: string, actor: { id: string; name: string }, details: Row) {
  const [r] = await rows(
    db,
    sql`WITH s AS (DELETE FROM schedules WHERE id = ${id}::uuid RETURNING id),
    a AS (INSERT INTO audit_log (actor_id, actor, action, subject, details)
      SELECT ${actor.id}::uuid, ${actor.name}, 'schedule.delete', id::text, ${JSON.stringify(details)}::jsonb FROM s)
    SELECT id FROM s`,
  );
  return Boolean(r);
}

/**
 * Claims the tick of occurrence `fireAt` for a schedule that is not paused. `coveredUntil` (≥ fireAt)
 * is the latest occurrence this tick stands for: a late tick covers every occurrence missed up to
 * now, so any other tick for them is a duplicate. Null when the schedule is paused, gone, or the
 * occurrence was already covered.
 */
export async function claimTick(db: Db, id: string, fireAt: Date, coveredUntil: Date): Promise<TickClaim | null> {
  const [r] = await rows(
    db,
    sql`WITH s AS (
      UPDATE schedules SET last_fire_at = ${coveredUntil.toISOString()}::timestamptz
      WHERE id = ${id}::uuid AND NOT paused AND (last_fire_at IS NULL OR last_fire_at < ${fireAt.toISOString()}::timestamptz)
      RETURNING *)
    SELECT s.*, u.username AS owner, u.role AS owner_role, u.disabled AS owner_disabled
    FROM s JOIN users u ON u.id = s.owner_id`,
  );
  if (!r) return null;
  return { ...toSchedule(r), ownerRole: String(r.owner_role), ownerDisabled: Boolean(r.owner_disabled) };
}

/**
 * Records a tick's outcome; a skip also says why on the schedule (a started job clears that), and a
 * tick that started nothing is audited (a started job has its own audit row).
 */
export async function recordRun(
  db: Db,
  id: string,
  run: { fireAt: Date; outcome: 'started' | 'skipped' | 'failed'; catchUp: boolean; jobId?: string; reason?: string },
): Promise<void> {
  const blocked = run.outcome === 'skipped' ? (run.reason ?? 'skipped') : null;
  await db.execute(
    sql`WITH s AS (UPDATE schedules SET blocked = ${blocked} WHERE id = ${id}::uuid RETURNING id),
    a AS (INSERT INTO audit_log (actor_id, actor, action, subject, details)
      SELECT NULL, 'system', ${`schedule.${run.outcome === 'skipped' ? 'skip' : 'fail'}`}, id::text,
        jsonb_build_object('reason', ${run.reason ?? null}::text, 'fireAt', ${run.fireAt.toISOString()}::text)
      FROM s WHERE ${run.outcome} <> 'started')
    INSERT INTO schedule_runs (schedule_id, fire_at, outcome, catch_up, job_id, reason)
    SELECT id, ${run.fireAt.toISOString()}::timestamptz, ${run.outcome}, ${run.catchUp}, ${run.jobId ?? null}::uuid, ${run.reason ?? null}
    FROM s`,
  );
}

/** The latest runs of a schedule, newest first, with their jobs as they are now. */
export async function listRuns(db: Db, id: string, limit = 20): Promise<ScheduleRunRow[]> {
  const r = await rows(
    db,
    sql`SELECT r.*, j.status AS job_status, j.finished_at AS job_finished_at, j.error AS job_error
    FROM schedule_runs r LEFT JOIN jobs j ON j.id = r.job_id
    WHERE r.schedule_id = ${id}::uuid ORDER BY r.id DESC LIMIT ${limit}`,
  );
  return r.map((x) => ({
    id: Number(x.id),
    fireAt: new Date(x.fire_at as string),
    at: new Date(x.at as string),
    outcome: x.outcome as ScheduleRunRow['outcome'],
    catchUp: Boolean(x.catch_up),
    reason: (x.reason as string | null) ?? null,
    job: x.job_id
      ? {
          id: String(x.job_id),
          status: String(x.job_status),
          finishedAt: date(x.job_finished_at),
          error: (x.job_error as string | null) ?? null,
        }
      : null,
  }));
}
