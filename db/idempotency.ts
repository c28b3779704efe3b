import type { Db } from './client.ts';
import { prepared } from './prepared.ts';

/**
 * Idempotency-Key bookkeeping for POST /api/jobs. A key belongs to one user and one request: the
 * same request again gets the same job, another request under that key is refused (as Stripe does),
 * and a key whose job never reached the queue is given back, so the client's retry can run it.
 */

/** What a job request is compared on; `onBusy` lives in the job's first (`queued`) event. */
export interface RequestShape {
  kind: string;
  target: string | null;
  script: string | null;
  params: Record<string, unknown>;
  onBusy: 'wait' | 'reject';
}

/** The job this user recorded under `key`, and whether it was asked for with the same request. */
export async function findByIdempotencyKey(
  db: Db,
  userId: string,
  key: string,
  request: RequestShape,
): Promise<{ id: string; sameRequest: boolean } | null> {
  const [row] = await prepared(
    db,
    'deckhand_find_idempotent_job',
    // jsonb equality is semantic: key order and number spelling do not matter.
    `SELECT j.id, (j.kind = $3::text AND j.target IS NOT DISTINCT FROM $4::text
        AND j.script IS NOT DISTINCT FROM $5::text AND j.params = $6::jsonb
        AND coalesce(e.data->>'onBusy', 'wait') = $7::text) AS same
     FROM jobs j LEFT JOIN job_events e ON e.job_id = j.id AND e.seq = 1
     WHERE j.requested_by = $1 AND j.idempotency_key = $2`,
    [userId, key, request.kind, request.target, request.script, JSON.stringify(request.params), request.onBusy],
  );
  return row ? { id: String(row.id), sameRequest: row.same === true } : null;
}

/**
 * Ends a committed job that the queue refused as `failed`, with its event, and gives its
 * Idempotency-Key back: the client was told 503, so its retry with that key must make a job that
 * runs. The row keeps the truth (it never ran). False when the job had already left `queued`.
 */
export async function failUnqueuedJob(db: Db, id: string, error: string): Promise<boolean> {
  const r = await prepared(
    db,
    'deckhand_fail_unqueued_job',
    `WITH j AS (
      UPDATE jobs SET status = 'failed', error = $2::text, idempotency_key = NULL, finished_at = now(),
        last_seq = last_seq + 1
      WHERE id = $1 AND status = 'queued'
      RETURNING id, last_seq)
    INSERT INTO job_events (job_id, seq, type, data)
    SELECT id, last_seq, 'status', jsonb_build_object('status', 'failed', 'by', 'system', 'error', $2::text) FROM j
    RETURNING job_id`,
    [id, error],
  );
  return r.length > 0;
}
