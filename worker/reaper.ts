import type { Logger } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { LostJob } from '../db/jobs.ts';
import { startLeaseReaper } from '../jobs/lib/lease-reaper.ts';
import { killOrphanedJobProcesses } from './orphans.ts';

/** How often a worker looks for job processes that outlived their worker: prompt, and cheap (a /proc scan). */
const ORPHAN_SCAN_MS = 1000;

export interface ReaperOptions {
  leaseMs: number;
  everyMs: number;
  hostname: string;
  /** After jobs were marked lost (notifications). */
  onLost?: (jobs: LostJob[]) => Promise<void>;
}

/**
 * A worker's reaper: marks `lost` the jobs whose worker stopped renewing its lease (see the lease
 * reaper), and kills on this host the processes of jobs whose worker died or that have ended,
 * as soon as they are seen: a dead worker's job is stopped at once, not a lease later.
 */
export function startReaper(db: Db, log: Logger, opts: ReaperOptions): () => void {
  let scanning = false;
  const scan = async () => {
    if (scanning) return;
    scanning = true;
    await killOrphanedJobProcesses(db, opts.hostname, log)
      .catch((err) => log.debug({ err: String(err) }, 'orphan scan failed'))
      .finally(() => {
        scanning = false;
      });
  };
  const stopLeases = startLeaseReaper(db, log, {
    ...opts,
    onLost: (jobs) => {
      void scan();
      void opts.onLost?.(jobs);
    },
  });
  void scan();
  const timer = setInterval(scan, ORPHAN_SCAN_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    stopLeases();
  };
}
