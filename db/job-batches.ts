import type { Db } from './client.ts';
import type { ClaimedJob, EndStatus, NewJob } from './jobs.ts';
import { prepared } from './prepared.ts';

/**
 * The hot transitions of db/jobs.ts for many jobs at once (db/batch.ts coalesces concurrent
 * calls into these). Each is still one statement that updates the rows, bumps each row's
 * `last_seq` and appends each row's event from that same `last_seq`, so every job's row and
 * history agree. A job appears at most once per statement (the callers make sure), so its events
 * stay contiguous and in order.
 */

type Row = Record<string, unknown>;

/** Inserts `queued` rows with the ids given, their first events and audit rows; null where an idempotency key was already used. */
export async function insertQueuedJobs(db: Db, jobs: (NewJob & { id: string })[]): Promise<(string | null)[]> {
  const col = <T>(f: (j: NewJob & { id: string }) => T) => jobs.map(f);
  const inserted = await prepared(
    db,
    'deckhand_insert_jobs',
    `WITH input AS (
      SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::uuid[],
                           $8::text[], $9::uuid[], $10::text[], $11::text[], $12::text[], $13::text[])
        AS t(id, kind, target, script, params, max_attempts, requested_by, idempotency_key, retry_of,
             actor, action, details, on_busy)),
    j AS (
      INSERT INTO jobs (id, kind, target, script, params, max_attempts, requested_by, idempotency_key, retry_of, last_seq)
      SELECT id, kind, target, script, params::jsonb, max_attempts, requested_by, idempotency_key, retry_of, 1 FROM input
      ON CONFLICT (requested_by, idempotency_key) DO NOTHING
      RETURNING id),
    e AS (INSERT INTO job_events (job_id, seq, type, data)
      SELECT i.id, 1, 'status', jsonb_strip_nulls(jsonb_build_object('status', 'queued', 'by', i.actor, 'onBusy', i.on_busy))
      FROM j JOIN input i USING (id)),
    a AS (INSERT INTO audit_log (actor_id, actor, action, subject, details)
      SELECT i.requested_by, i.actor, i.action, i.id::text, i.details::jsonb FROM j JOIN input i USING (id))
    SELECT id FROM j`,
    [
      col((j) => j.id),
      col((j) => j.kind),
      col((j) => j.target),
      col((j) => j.script),
      col((j) => JSON.stringify(j.params)),
      col((j) => j.maxAttempts),
      col((j) => j.requestedBy),
      col((j) => j.idempotencyKey),
      col((j) => j.retryOf),
      col((j) => j.actorName),
      col((j) => (j.retryOf ? 'job.retry' : 'job.enqueue')),
      col((j) => JSON.stringify(j.auditDetails)),
      col((j) => (j.onBusy === 'reject' ? 'reject' : null)),
    ],
  );
  const made = new Set(inserted.map((r) => String(r.id)));
  return jobs.map((j) => (made.has(j.id) ? j.id : null));
}

function claimed(r: Row): ClaimedJob {
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

/** Moves each claimable job to `active` under this worker's lease; null for those someone else has or that ended. */
export async function claimJobs(db: Db, ids: string[], owner: string, leaseMs: number): Promise<(ClaimedJob | null)[]> {
  const rows = await prepared(
    db,
    'deckhand_claim_jobs',
    `WITH j AS (
      UPDATE jobs SET status = 'active', attempt = attempt + 1, started_at = coalesce(started_at, now()),
        lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3::float8),
        step = NULL, error = NULL, last_seq = last_seq + 1
      WHERE id = ANY($1::uuid[]) AND status IN ('queued', 'retrying') AND cancel_requested_at IS NULL
      RETURNING *),
    e AS (INSERT INTO job_events (job_id, seq, type, data)
      SELECT id, last_seq, 'status', jsonb_build_object('status', 'active', 'attempt', attempt, 'worker', $2::text) FROM j)
    SELECT j.id, j.kind, j.target, j.script, j.params, j.attempt, j.max_attempts, j.requested_by, u.role, u.username
    FROM j JOIN users u ON u.id = j.requested_by`,
    [ids, owner, leaseMs / 1000],
  );
  const byId = new Map(rows.map((r) => [String(r.id), claimed(r)]));
  const handedOut = new Set<string>();
  // A job named twice is claimed once: only its first caller may run it.
  return ids.map((id) => {
    if (handedOut.has(id)) return null;
    handedOut.add(id);
    return byId.get(id) ?? null;
  });
}

export interface Finish {
  id: string;
  status: EndStatus;
  result?: unknown;
  error?: string | null;
}

/**
 * What the end of an attempt tells its worker: the notification events that some enabled rule
 * listens for, as of the same snapshot that committed the end. An event not among them cannot
 * fire, so the notifier skips its lookup (jobs/lib/notifier.ts): with no rule for it, a job's end
 * costs no statement of its own.
 */
export interface Ended {
  ruleEvents: ReadonlySet<string>;
}

/** Ends attempts this worker owns; null for each whose lease was lost (the reaper got there first). */
export async function finishAttempts(db: Db, owner: string, finishes: Finish[]): Promise<(Ended | null)[]> {
  const rows = await prepared(
    db,
    'deckhand_finish_attempts',
    `WITH input AS (
      SELECT * FROM unnest($1::uuid[], $3::text[], $4::text[], $5::text[]) AS t(id, status, result, error)),
    j AS (
      UPDATE jobs SET status = i.status, result = i.result::jsonb, error = i.error,
        progress = CASE WHEN i.status = 'succeeded' THEN 100 ELSE progress END,
        finished_at = CASE WHEN i.status <> 'retrying' THEN now() ELSE NULL END,
        lease_owner = NULL, lease_expires_at = NULL, pid = NULL, last_seq = last_seq + 1
      FROM input i
      WHERE jobs.id = i.id AND jobs.lease_owner = $2 AND jobs.status IN ('active', 'waiting')
      RETURNING jobs.id, jobs.last_seq, i.status, i.error),
    e AS (INSERT INTO job_events (job_id, seq, type, data)
      SELECT id, last_seq, 'status', jsonb_strip_nulls(jsonb_build_object('status', status, 'error', error)) FROM j
      RETURNING job_id)
    SELECT job_id, (SELECT array_agg(DISTINCT ev) FROM notification_rules r, jsonb_array_elements_text(r.events) ev
                    WHERE r.enabled) AS rule_events
    FROM e`,
    [
      finishes.map((f) => f.id),
      owner,
      finishes.map((f) => f.status),
      finishes.map((f) => (f.result === undefined ? null : JSON.stringify(f.result))),
      finishes.map((f) => f.error ?? null),
    ],
  );
  // The subquery is the same for every row (one snapshot, evaluated once).
  const ruleEvents: ReadonlySet<string> = new Set((rows[0]?.rule_events as string[] | null) ?? []);
  const done = new Set(rows.map((r) => String(r.job_id)));
  return finishes.map((f) => (done.has(f.id) ? { ruleEvents } : null));
}
