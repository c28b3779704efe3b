import { sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { prepared } from './prepared.ts';

/**
 * Job state transitions. Each one is a single SQL statement that updates the
 * row, bumps its event sequence and appends the matching event, so the row and
 * its append-only history can never disagree.
 */

export interface NewJob {
  kind: string;
  target: string | null;
  script: string | null;
  params: Record<string, unknown>;
  maxAttempts: number;
  requestedBy: string;
  actorName: string;
  idempotencyKey: string | null;
  /** Kept in the first event when `reject`, so a reused Idempotency-Key can be compared (db/idempotency.ts). */
  onBusy?: 'wait' | 'reject';
  retryOf: string | null;
  /** What the audit row says about the request; already free of secrets. */
  auditDetails: Record<string, unknown>;
}

export interface ClaimedJob {
  id: string;
  kind: string;
  target: string | null;
  script: string | null;
  params: Record<string, unknown>;
  attempt: number;
  maxAttempts: number;
  requestedBy: string;
  role: string;
  username: string;
}

type Row = Record<string, unknown>;
const rows = async (db: Db, q: ReturnType<typeof sql>) => (await db.execute(q)).rows as Row[];

/** Inserts the `queued` row, its first event and the audit row in one statement. Returns null on an idempotency-key conflict. */
export async function insertQueuedJob(db: Db, j: NewJob): Promise<string | null> {
  const [row] = await prepared(
    db,
    'deckhand_insert_job',
    `WITH j AS (
      INSERT INTO jobs (kind, target, script, params, max_attempts, requested_by, idempotency_key, retry_of, last_seq)
      VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, 1)
      ON CONFLICT (requested_by, idempotency_key) DO NOTHING
      RETURNING id),
    e AS (INSERT INTO job_events (job_id, seq, type, data)
      SELECT id, 1, 'status', jsonb_strip_nulls(jsonb_build_object('status', 'queued', 'by', $9::text, 'onBusy', $12::text))
      FROM j),
    a AS (INSERT INTO audit_log (actor_id, actor, action, subject, details)
      SELECT $6, $9, $10, id::text, $11::jsonb FROM j)
    SELECT id FROM j`,
    [
      j.kind,
      j.target,
      j.script,
      JSON.stringify(j.params),
      j.maxAttempts,
      j.requestedBy,
      j.idempotencyKey,
      j.retryOf,
      j.actorName,
      j.retryOf ? 'job.retry' : 'job.enqueue',
      JSON.stringify(j.auditDetails),
      j.onBusy === 'reject' ? 'reject' : null,
    ],
  );
  return row ? String(row.id) : null;
}

/** Moves a claimable job to `active` under a lease; null if someone else has it or it ended. */
export async function claimJob(db: Db, id: string, owner: string, leaseMs: number): Promise<ClaimedJob | null> {
  const [r] = await prepared(
    db,
    'deckhand_claim_job',
    `WITH j AS (
      UPDATE jobs SET status = 'active', attempt = attempt + 1, started_at = coalesce(started_at, now()),
        lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3::float8),
        step = NULL, error = NULL, last_seq = last_seq + 1
      WHERE id = $1 AND status IN ('queued', 'retrying') AND cancel_requested_at IS NULL
      RETURNING *),
    e AS (INSERT INTO job_events (job_id, seq, type, data)
      SELECT id, last_seq, 'status', jsonb_build_object('status', 'active', 'attempt', attempt, 'worker', $2::text) FROM j)
    SELECT j.id, j.kind, j.target, j.script, j.params, j.attempt, j.max_attempts, j.requested_by, u.role, u.username
    FROM j JOIN users u ON u.id = j.requested_by`,
    [id, owner, leaseMs / 1000],
  );
  if (!r) return null;
  return {
    id: String(r.id),
    kind: String(r.kind),
    target: (r.target as string | null) ?? null,
    script: (r.script as string | null) ?? null,
    params: (r.params as Record<string, unknown>) ?? {},
    attempt: Number(r.attempt),
    maxAttempts: Number(r.max_attempts),
    requestedBy: String(r.requested_by),
    role: String(r.role),
    username: String(r.username),
  };
}

/** Extends the lease; tells the worker whether it still owns the job and whether a cancel was asked. */
export async function renewLease(
  db: Db,
  id: string,
  owner: string,
  leaseMs: number,
): Promise<{ owned: boolean; cancelRequested: boolean }> {
  const [r] = await prepared(
    db,
    'deckhand_renew_lease',
    `UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3::float8)
     WHERE id = $1 AND lease_owner = $2 AND status IN ('active', 'waiting')
     RETURNING cancel_requested_at IS NOT NULL AS cancel`,
    [id, owner, leaseMs / 1000],
  );
  return { owned: Boolean(r), cancelRequested: Boolean(r?.cancel) };
}

export async function appendEvent(db: Db, id: string, type: string, data: Record<string, unknown>): Promise<void> {
  await prepared(
    db,
    'deckhand_append_event',
    `WITH j AS (UPDATE jobs SET last_seq = last_seq + 1 WHERE id = $1 RETURNING id, last_seq)
     INSERT INTO job_events (job_id, seq, type, data) SELECT id, last_seq, $2, $3::jsonb FROM j`,
    [id, type, JSON.stringify(data)],
  );
}

export async function recordProgress(db: Db, id: string, progress: number, step: string | null): Promise<void> {
  await prepared(
    db,
    'deckhand_record_progress',
    `WITH j AS (UPDATE jobs SET progress = $2::int, step = coalesce($3::text, step), last_seq = last_seq + 1
       WHERE id = $1 AND status = 'active' RETURNING id, last_seq)
     INSERT INTO job_events (job_id, seq, type, data)
     SELECT id, last_seq, 'progress', jsonb_build_object('progress', $2::int, 'step', $3::text) FROM j`,
    [id, progress, step],
  );
}

/** Records the job's current process group; only while this worker still runs the job, so a late write never lands on an ended row. */
export async function setPid(db: Db, id: string, owner: string, pid: number | null): Promise<void> {
  await db.execute(
    sql`UPDATE jobs SET pid = ${pid} WHERE id = ${id} AND lease_owner = ${owner} AND status IN ('active', 'waiting')`,
  );
}

export type EndStatus = 'succeeded' | 'failed' | 'cancelled' | 'retrying';

/** Ends an attempt that this worker owns. False when the lease was lost (the reaper got there first). */
export async function finishAttempt(
  db: Db,
  id: string,
  owner: string,
  status: EndStatus,
  outcome: { result?: unknown; error?: string | null },
): Promise<boolean> {
  const terminal = status !== 'retrying';
  const result = outcome.result === undefined ? null : JSON.stringify(outcome.result);
  const error = outcome.error ?? null;
  const r = await prepared(
    db,
    'deckhand_finish_attempt',
    `WITH j AS (
      UPDATE jobs SET status = $3::text, result = $4::jsonb, error = $5::text,
        progress = CASE WHEN $3::text = 'succeeded' THEN 100 ELSE progress END,
        finished_at = CASE WHEN $6::boolean THEN now() ELSE NULL END,
        lease_owner = NULL, lease_expires_at = NULL, pid = NULL, last_seq = last_seq + 1
      WHERE id = $1 AND lease_owner = $2 AND status IN ('active', 'waiting')
      RETURNING id, last_seq)
    INSERT INTO job_events (job_id, seq, type, data)
    SELECT id, last_seq, 'status', jsonb_strip_nulls(jsonb_build_object('status', $3::text, 'error', $5::text)) FROM j
    RETURNING job_id`,
    [id, owner, status, result, error, terminal],
  );
  return r.length > 0;
}

/** Ends a job that is not running (cancelled while queued, or failed to enqueue). */
export async function endIdleJob(
  db: Db,
  id: string,
  status: 'cancelled' | 'failed',
  by: string,
  error: string | null,
): Promise<boolean> {
  const r = await rows(
    db,
    sql`WITH j AS (
      UPDATE jobs SET status = ${status}, error = ${error}, finished_at = now(), last_seq = last_seq + 1
      WHERE id = ${id} AND status IN ('queued', 'retrying')
      RETURNING id, last_seq)
    INSERT INTO job_events (job_id, seq, type, data)
    SELECT id, last_seq, 'status', jsonb_strip_nulls(jsonb_build_object('status', ${status}::text, 'by', ${by}::text, 'error', ${error}::text)) FROM j
    RETURNING job_id`,
  );
  return r.length > 0;
}

/** Flags an active job for cancellation; its worker sees the flag on its next lease renewal. */
export async function requestCancel(db: Db, id: string, by: string): Promise<boolean> {
  const r = await rows(
    db,
    sql`WITH j AS (
      UPDATE jobs SET cancel_requested_at = now(), last_seq = last_seq + 1
      WHERE id = ${id} AND status IN ('active', 'waiting') AND cancel_requested_at IS NULL
      RETURNING id, last_seq)
    INSERT INTO job_events (job_id, seq, type, data)
    SELECT id, last_seq, 'cancel_requested', jsonb_build_object('by', ${by}::text) FROM j
    RETURNING job_id`,
  );
  return r.length > 0;
}

export interface LostJob {
  id: string;
  owner: string | null;
  pid: number | null;
}

/** Marks every active job whose lease expired as `lost`, with its event and audit row. */
export async function reapExpiredLeases(db: Db): Promise<LostJob[]> {
  const r = await rows(
    db,
    sql`WITH stale AS (
      SELECT id, lease_owner, pid FROM jobs
      WHERE status IN ('active', 'waiting') AND lease_expires_at < now()
      FOR UPDATE SKIP LOCKED),
    j AS (
      UPDATE jobs SET status = 'lost', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL, pid = NULL,
        error = 'the worker stopped renewing its lease (it crashed or was killed); not rerun automatically',
        last_seq = last_seq + 1
      FROM stale WHERE jobs.id = stale.id
      RETURNING jobs.id, jobs.last_seq, stale.lease_owner, stale.pid),
    e AS (INSERT INTO job_events (job_id, seq, type, data)
      SELECT id, last_seq, 'status', jsonb_build_object('status', 'lost', 'worker', lease_owner) FROM j),
    a AS (INSERT INTO audit_log (actor_id, actor, action, subject, details)
      SELECT NULL, 'system', 'job.lost', id::text, jsonb_build_object('worker', lease_owner) FROM j)
    SELECT id, lease_owner, pid FROM j`,
  );
  return r.map((x) => ({ id: String(x.id), owner: (x.lease_owner as string) ?? null, pid: (x.pid as number) ?? null }));
}

/** Jobs recorded as waiting for the queue for a while: candidates for the reconciler. */
export async function staleQueuedJobs(db: Db, olderThanMs: number, limit = 200) {
  const r = await rows(
    db,
    sql`SELECT id, kind, max_attempts FROM jobs
        WHERE status IN ('queued', 'retrying') AND created_at < now() - make_interval(secs => ${olderThanMs / 1000})
        ORDER BY num LIMIT ${limit}`,
  );
  return r.map((x) => ({ id: String(x.id), kind: String(x.kind), maxAttempts: Number(x.max_attempts) }));
}
