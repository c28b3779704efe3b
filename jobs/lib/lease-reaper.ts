import { sql } from 'drizzle-orm';
import type { Logger } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { type LostJob, reapExpiredLeases } from '../../db/jobs.ts';

export interface LeaseReaperOptions {
  leaseMs: number;
  everyMs: number;
  /** Called with what a pass marked lost (a worker kills their leftover processes). */
  onLost?: (jobs: LostJob[]) => void;
}

/**
 * Marks `lost` the jobs whose worker stopped renewing its lease. Only db/ is needed, so the web
 * tier runs one too; killing leftover processes is the workers' business (DESIGN §9).
 *
 * A lease also goes unrenewed while PostgreSQL is unreachable, with its worker alive and about to
 * renew. So this reaper trusts an expired lease only once the database has been reachable, as far
 * as it can tell, for a whole lease: after a pass that could not reach it, and after this reaper
 * starts (it cannot know about the time before). A crashed worker is still found, one lease later.
 */
export function createLeaseReaper(db: Db, log: Logger, opts: LeaseReaperOptions) {
  let reachableSince = Date.now();
  return async function reapPass(now = Date.now()): Promise<LostJob[]> {
    if (now - reachableSince < opts.leaseMs) {
      await db.execute(sql`SELECT 1`).catch((err) => {
        reachableSince = Date.now();
        throw err;
      });
      return [];
    }
    const lost = await reapExpiredLeases(db).catch((err) => {
      reachableSince = Date.now();
      throw err;
    });
    for (const job of lost)
      log.warn({ jobId: job.id, worker: job.owner }, 'job lost: its worker stopped renewing the lease');
    if (lost.length > 0) opts.onLost?.(lost);
    return lost;
  };
}

export function startLeaseReaper(db: Db, log: Logger, opts: LeaseReaperOptions): () => void {
  const reapPass = createLeaseReaper(db, log, opts);
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    await reapPass()
      .catch((err) => log.warn({ err: String(err) }, 'reaper pass could not reach the database'))
      .finally(() => {
        running = false;
      });
  }, opts.everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
