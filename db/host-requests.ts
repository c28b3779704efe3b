import type { Db } from './client.ts';

/** Channels of the host seam (DESIGN §9): a request names its host; a reply names its request. */
export const REQUEST_CHANNEL = 'deckhand_host_request';
export const REPLY_CHANNEL = 'deckhand_host_reply';

export interface HostRequestError {
  /** The HTTP status the web tier answers with (4xx for a bad read); 502 when absent. */
  status?: number;
  code: string;
  message: string;
  details?: unknown;
}

/** Records a live read for `host` and wakes that host's workers (the NOTIFY goes out at commit). */
export async function insertHostRequest(
  db: Db,
  host: string,
  kind: string,
  params: Record<string, unknown>,
): Promise<string> {
  const r = await db.$client.query<{ id: string }>(
    `WITH req AS (INSERT INTO host_requests (host, kind, params) VALUES ($1, $2, $3) RETURNING id)
     SELECT id, pg_notify($4, $1 || ' ' || id) FROM req`,
    [host, kind, JSON.stringify(params), REQUEST_CHANNEL],
  );
  return r.rows[0]!.id;
}

export interface ClaimedHostRequest {
  id: string;
  kind: string;
  params: Record<string, unknown>;
}

/** One worker of the host takes the request; a stale one (its asker has given up) is left to the sweep. */
export async function claimHostRequest(
  db: Db,
  id: string,
  host: string,
  worker: string,
  maxAgeMs: number,
): Promise<ClaimedHostRequest | null> {
  const r = await db.$client.query<ClaimedHostRequest>(
    `UPDATE host_requests SET claimed_by = $3
     WHERE id = $1 AND host = $2 AND claimed_by IS NULL AND created_at > now() - make_interval(secs => $4)
     RETURNING id, kind, params`,
    [id, host, worker, maxAgeMs / 1000],
  );
  return r.rows[0] ?? null;
}

/** Requests for `host` nobody has claimed yet: a worker that missed a NOTIFY (reconnecting) picks them up. */
export async function openHostRequests(db: Db, host: string, maxAgeMs: number): Promise<string[]> {
  const r = await db.$client.query<{ id: string }>(
    `SELECT id FROM host_requests
     WHERE host = $1 AND claimed_by IS NULL AND created_at > now() - make_interval(secs => $2)
     ORDER BY created_at LIMIT 100`,
    [host, maxAgeMs / 1000],
  );
  return r.rows.map((row) => row.id);
}

export async function answerHostRequest(
  db: Db,
  id: string,
  answer: { reply: unknown } | { error: HostRequestError },
): Promise<void> {
  await db.$client.query(
    `WITH a AS (UPDATE host_requests SET answered_at = now(), reply = $2, error = $3 WHERE id = $1 RETURNING id)
     SELECT pg_notify($4, id::text) FROM a`,
    [
      id,
      'reply' in answer ? JSON.stringify(answer.reply ?? null) : null,
      'error' in answer ? JSON.stringify(answer.error) : null,
      REPLY_CHANNEL,
    ],
  );
}

export interface HostAnswer {
  answered: boolean;
  reply: unknown;
  error: HostRequestError | null;
}

/** Takes the answer (and removes the row) once it is there; `answered: false` while it is not. */
export async function takeHostAnswer(db: Db, id: string): Promise<HostAnswer> {
  const r = await db.$client.query<{ reply: unknown; error: HostRequestError | null }>(
    'DELETE FROM host_requests WHERE id = $1 AND answered_at IS NOT NULL RETURNING reply, error',
    [id],
  );
  const row = r.rows[0];
  return row ? { answered: true, reply: row.reply, error: row.error } : { answered: false, reply: null, error: null };
}

export async function dropHostRequest(db: Db, id: string): Promise<void> {
  await db.$client.query('DELETE FROM host_requests WHERE id = $1', [id]);
}

/** Rows whose asker gave up long ago (a web process died while waiting). */
export async function sweepHostRequests(db: Db, olderThanMs: number): Promise<number> {
  const r = await db.$client.query('DELETE FROM host_requests WHERE created_at < now() - make_interval(secs => $1)', [
    olderThanMs / 1000,
  ]);
  return r.rowCount ?? 0;
}
