import os from 'node:os';
import type { Logger } from '../config.ts';
import type { Db } from '../db/client.ts';
import { reapExpiredLeases } from '../db/jobs.ts';

/**
 * Ends jobs whose worker died: after the lease expires they become `lost`
 * (never rerun silently). A dead worker's process group may outlive it, so a
 * reaper on the same host kills that group.
 */
export async function reapOnce(db: Db, log: Logger): Promise<number> {
  const lost = await reapExpiredLeases(db);
  for (const job of lost) {
    log.warn({ jobId: job.id, worker: job.owner }, 'job lost: its worker stopped renewing the lease');
    if (job.pid && job.owner?.startsWith(`${os.hostname()}:`)) {
      try {
        process.kill(-job.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  return lost.length;
}

export function startReaper(db: Db, log: Logger, everyMs: number): () => void {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    await reapOnce(db, log)
      .catch((err) => log.warn({ err }, 'reaper pass failed'))
      .finally(() => {
        running = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
