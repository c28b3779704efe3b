import { sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { prepared } from './prepared.ts';

export interface LockHolder {
  jobId: string;
  kind: string;
  status: string;
}

/**
 * Takes the target's lock for `jobId`, or reports who holds it. A lock whose
 * holder is no longer running (it ended, or was reaped as lost) is taken over.
 */
export async function tryLockTarget(db: Db, target: string, jobId: string): Promise<LockHolder | null> {
  // A holder can release between the two statements; then the next round takes the lock.
  for (;;) {
    const [taken] = await prepared(
      db,
      'deckhand_lock_target',
      `INSERT INTO target_locks (target, job_id) VALUES ($1, $2)
       ON CONFLICT (target) DO UPDATE SET job_id = EXCLUDED.job_id, acquired_at = now()
         WHERE target_locks.job_id = EXCLUDED.job_id
            OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = target_locks.job_id AND j.status = 'active')
       RETURNING job_id`,
      [target, jobId],
    );
    if (taken) return null;
    const holder = await lockHolder(db, target);
    if (holder) return holder;
  }
}

export async function releaseTarget(db: Db, target: string, jobId: string): Promise<void> {
  await prepared(db, 'deckhand_unlock_target', 'DELETE FROM target_locks WHERE target = $1 AND job_id = $2', [
    target,
    jobId,
  ]);
}

/** An admin's force-release; returns the job that held it, if any. */
export async function forceReleaseTarget(db: Db, target: string): Promise<string | null> {
  const r = await db.execute(sql`DELETE FROM target_locks WHERE target = ${target} RETURNING job_id`);
  return (r.rows[0]?.job_id as string | undefined) ?? null;
}

export async function lockHolder(db: Db, target: string): Promise<LockHolder | null> {
  const r = await db.execute(
    sql`SELECT l.job_id, j.kind, j.status FROM target_locks l JOIN jobs j ON j.id = l.job_id WHERE l.target = ${target}`,
  );
  const row = r.rows[0] as { job_id: string; kind: string; status: string } | undefined;
  return row ? { jobId: row.job_id, kind: row.kind, status: row.status } : null;
}

/** Another job on the target that has not ended: what `"onBusy":"reject"` refuses on. */
export async function busyWith(db: Db, target: string): Promise<LockHolder | null> {
  const r = await db.execute(
    sql`SELECT id, kind, status FROM jobs WHERE target = ${target}
        AND status IN ('queued', 'waiting', 'active', 'retrying') ORDER BY num LIMIT 1`,
  );
  const row = r.rows[0] as { id: string; kind: string; status: string } | undefined;
  return row ? { jobId: row.id, kind: row.kind, status: row.status } : null;
}

/** Moves an active job to `waiting` (or back), with its event; the step says who holds the lock. */
export async function setWaiting(db: Db, id: string, owner: string, waiting: boolean, step: string | null) {
  const [from, to] = waiting ? ['active', 'waiting'] : ['waiting', 'active'];
  await prepared(
    db,
    'deckhand_set_waiting',
    // Leaving `waiting` is when the work starts: started_at says so, so lock holders' times never overlap.
    `WITH j AS (UPDATE jobs SET status = $4::text, step = $5::text, last_seq = last_seq + 1,
         started_at = CASE WHEN $4::text = 'active' THEN now() ELSE started_at END
       WHERE id = $1 AND lease_owner = $2 AND status = $3::text RETURNING id, last_seq)
     INSERT INTO job_events (job_id, seq, type, data)
     SELECT id, last_seq, 'status', jsonb_strip_nulls(jsonb_build_object('status', $4::text, 'step', $5::text)) FROM j`,
    [id, owner, from, to, step],
  );
}
