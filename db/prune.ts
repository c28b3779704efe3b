import type { Db } from './client.ts';
import { terminalStatuses } from './job-states.ts';

/**
 * Retention (DESIGN §12): what pruning deletes, in small batches. Every statement touches at most
 * `batch` rows (or `batch / 10` jobs), so it holds its row locks for milliseconds and never blocks
 * the job pipeline; a crash between two statements leaves nothing half-said, since a job is only
 * marked as pruned (or deleted) after its events are gone, and the next run finishes the rest.
 *
 * The append-only history of a job that remains is never rewritten: whole old jobs go with all
 * their events, and a job past output retention loses only its `output` and `progress` events,
 * keeping every status event and its `last_seq`, with `output_pruned_at` saying so.
 */

export interface RetentionPolicy {
  outputDays: number;
  jobDays: number;
  auditDays: number;
}

export interface PruneCounts {
  /** Jobs whose output and progress events were deleted (their rows and status events remain). */
  outputJobs: number;
  outputEvents: number;
  /** Whole jobs deleted, with all their events. */
  jobs: number;
  jobEvents: number;
  auditRows: number;
  /** Statements run: each one short. */
  batches: number;
}

export const DEFAULT_BATCH = 1000;

/**
 * Jobs that pruning leaves alone ($3): pinned by an admin, or a target's live deploy, which keep
 * everything; for whole-job pruning also every deploy whose release is still on disk, since a
 * rollback to it needs its row.
 */
const KEPT = `(j.pinned OR j.id = ANY($3::uuid[]))`;

/** Each target's live deploy: its newest deployment that went live, the release `current` points at. */
export async function liveDeployJobs(db: Db): Promise<string[]> {
  const r = await db.$client.query(
    `SELECT DISTINCT ON (target) job_id FROM deployments WHERE phase = 'live' ORDER BY target, created_at DESC`,
  );
  return r.rows.map((row) => String(row.job_id));
}

/** Deploys whose release went live and whose directory is still there: the rollback choices. */
async function releaseDeployJobs(db: Db): Promise<string[]> {
  const r = await db.$client.query(`SELECT job_id FROM deployments WHERE phase = 'live' AND NOT pruned`);
  return r.rows.map((row) => String(row.job_id));
}

const TERMINAL = `ARRAY[${terminalStatuses.map((s) => `'${s}'`).join(',')}]`;

const days = (n: number) => `${Math.floor(n)} days`;

async function rowCount(db: Db, text: string, values: unknown[]): Promise<number> {
  return (await db.$client.query(text, values)).rowCount ?? 0;
}

/** Deletes the matching events of these jobs, `batch` rows per statement, skipping jobs pinned meanwhile. */
async function deleteEvents(db: Db, run: Run, ids: string[], types: string[] | null) {
  let deleted = 0;
  for (;;) {
    const n = await rowCount(
      db,
      `DELETE FROM job_events WHERE ctid = ANY(ARRAY(
         SELECT e.ctid FROM job_events e JOIN jobs j ON j.id = e.job_id
         WHERE e.job_id = ANY($1::uuid[]) AND NOT j.pinned AND ($2::text[] IS NULL OR e.type = ANY($2::text[]))
         LIMIT $3))`,
      [ids, types, run.batch],
    );
    run.counts.batches++;
    deleted += n;
    if (n < run.batch) return deleted;
  }
}

/** The oldest ended jobs past `cutoff` that pruning may touch, `limit` at most. */
async function pickJobs(db: Db, run: Run, olderThan: string, outputKept: boolean): Promise<string[]> {
  const r = await db.$client.query(
    `SELECT j.id FROM jobs j
     WHERE j.finished_at IS NOT NULL AND j.finished_at < now() - $1::interval
       ${outputKept ? 'AND j.output_pruned_at IS NULL' : ''}
       AND j.status = ANY(${TERMINAL}) AND NOT ${KEPT}
     ORDER BY j.finished_at LIMIT $2`,
    [olderThan, Math.max(1, Math.floor(run.batch / 10)), outputKept ? run.live : run.releases],
  );
  return r.rows.map((row) => String(row.id));
}

interface Run {
  batch: number;
  /** Each target's live deploy. */
  live: string[];
  /** Those and every other deploy a rollback can still go to. */
  releases: string[];
  counts: PruneCounts;
  stop: () => boolean;
}

async function pruneWholeJobs(db: Db, p: RetentionPolicy, run: Run) {
  const { counts } = run;
  while (!run.stop()) {
    const ids = await pickJobs(db, run, days(p.jobDays), false);
    counts.batches++;
    if (ids.length === 0) return;
    counts.jobEvents += await deleteEvents(db, run, ids, null);
    // Deployments rows and any stale lock row go with the job (ON DELETE CASCADE).
    counts.jobs += await rowCount(db, `DELETE FROM jobs WHERE id = ANY($1::uuid[]) AND NOT pinned`, [ids]);
    counts.batches++;
  }
}

async function pruneOutput(db: Db, p: RetentionPolicy, run: Run) {
  const { counts } = run;
  while (!run.stop()) {
    const ids = await pickJobs(db, run, days(p.outputDays), true);
    counts.batches++;
    if (ids.length === 0) return;
    counts.outputEvents += await deleteEvents(db, run, ids, ['output', 'progress']);
    counts.outputJobs += await rowCount(
      db,
      `UPDATE jobs SET output_pruned_at = now() WHERE id = ANY($1::uuid[]) AND NOT pinned`,
      [ids],
    );
    counts.batches++;
  }
}

async function pruneAudit(db: Db, keepDays: number, run: Run) {
  const { counts, batch } = run;
  while (!run.stop()) {
    const n = await rowCount(
      db,
      `DELETE FROM audit_log WHERE id = ANY(ARRAY(
         SELECT id FROM audit_log WHERE at < now() - $1::interval LIMIT $2))`,
      [days(keepDays), batch],
    );
    counts.batches++;
    counts.auditRows += n;
    if (n < batch) return;
  }
}

/**
 * One pruning pass. Whole jobs go first, so their output is not pruned just before. Audit rows are
 * never pruned below `auditFloorDays`, whatever the policy says (a setting written by a web process
 * with another floor, or by hand, cannot shorten it here).
 */
export async function pruneHistory(
  db: Db,
  policy: RetentionPolicy,
  opts: { auditFloorDays: number; batch?: number; stop?: () => boolean },
): Promise<PruneCounts> {
  const run: Run = {
    batch: opts.batch ?? DEFAULT_BATCH,
    live: await liveDeployJobs(db),
    releases: [...new Set([...(await liveDeployJobs(db)), ...(await releaseDeployJobs(db))])],
    counts: { outputJobs: 0, outputEvents: 0, jobs: 0, jobEvents: 0, auditRows: 0, batches: 0 },
    stop: opts.stop ?? (() => false),
  };
  await pruneWholeJobs(db, policy, run);
  await pruneOutput(db, policy, run);
  await pruneAudit(db, Math.max(policy.auditDays, opts.auditFloorDays), run);
  return run.counts;
}
