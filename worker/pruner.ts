import type { Logger } from '../config.ts';
import { audit, systemActor } from '../db/audit.ts';
import type { Db } from '../db/client.ts';
import { type PruneCounts, pruneHistory } from '../db/prune.ts';
import { claimPruneRun, finishPruneRun } from '../db/prune-runs.ts';
import { readSettings } from '../db/settings.ts';

/** Any constant shared by every Deckhand process: the key of the pruning run's advisory lock. */
const PRUNE_LOCK_KEY = 0x44_48_50_52; // "DHPR"

export interface PrunerOptions {
  worker: string;
  /** One run per this period across all workers. */
  everyMs: number;
  /** How often each worker asks whether a run is due. */
  checkMs: number;
  auditFloorDays: number;
  batch?: number;
}

/**
 * Retention's scheduler (DESIGN §12), in every worker. A worker-side timer rather than a BullMQ job
 * scheduler: it needs no queue (so it works on both backends and through a queue outage), it does
 * not pass through the job runner, whose every job is a jobs row, and PostgreSQL alone decides who
 * runs. Two guards: the claim (db/prune-runs.ts) lets one worker start per period, and a session
 * advisory lock, held on one connection for the whole run, keeps a run that outlasts its period
 * from overlapping the next; a worker that dies mid-run drops its connection and so the lock.
 */
export function startPruner(db: Db, log: Logger, opts: PrunerOptions) {
  let stopping = false;
  let running: Promise<PruneCounts | null> | null = null;

  async function runIfDue(): Promise<PruneCounts | null> {
    const client = await db.$client.connect();
    try {
      const { rows } = await client.query('SELECT pg_try_advisory_lock($1) AS locked', [PRUNE_LOCK_KEY]);
      if (!rows[0]?.locked) return null;
      try {
        if (!(await claimPruneRun(db, opts.worker, opts.everyMs))) return null;
        return await run();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [PRUNE_LOCK_KEY]);
      }
    } finally {
      client.release();
    }
  }

  async function run(): Promise<PruneCounts> {
    const t0 = Date.now();
    const s = await readSettings(db);
    const policy = { outputDays: s.retentionOutputDays, jobDays: s.retentionJobDays, auditDays: s.retentionAuditDays };
    try {
      const counts = await pruneHistory(db, policy, {
        auditFloorDays: opts.auditFloorDays,
        ...(opts.batch ? { batch: opts.batch } : {}),
        stop: () => stopping,
      });
      const auditDays = Math.max(policy.auditDays, opts.auditFloorDays);
      // One summary row per run, whatever it found: the audit log shows that retention is enforced.
      await audit(db, systemActor, 'history.prune', null, {
        ...counts,
        retention: { ...policy, auditDays },
        ms: Date.now() - t0,
        ...(stopping ? { interrupted: true } : {}),
      });
      await finishPruneRun(db, opts.worker, { counts });
      log.info({ ...counts, ms: Date.now() - t0 }, 'history pruned');
      return counts;
    } catch (err) {
      await finishPruneRun(db, opts.worker, { error: String(err) }).catch(() => {});
      throw err;
    }
  }

  const tick = () => {
    if (running || stopping) return;
    running = runIfDue()
      .catch((err) => {
        log.warn({ err: String(err) }, 'pruning run failed; the next period tries again');
        return null;
      })
      .finally(() => {
        running = null;
      });
  };
  // The first check comes one period of checks after the start, not at once: a fleet restarting
  // together does not all queue up on the lock, and a short-lived worker never prunes.
  const timer = setInterval(tick, opts.checkMs);
  timer.unref();
  return {
    /** Runs now if this period's run is still due (tests and the benchmark). */
    runIfDue,
    /** Stops the timer; a run in progress ends after its current batch. */
    async stop() {
      stopping = true;
      clearInterval(timer);
      await running;
    },
  };
}
