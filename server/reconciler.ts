import type { Logger } from '../config.ts';
import type { Db } from '../db/client.ts';
import { appendEvent, staleQueuedJobs } from '../db/jobs.ts';
import type { KindRegistry } from '../jobs/index.ts';
import type { Producer } from '../jobs/lib/queue.ts';

/**
 * The database records a job before the queue does. If a process died between
 * the two steps, or the queue lost its data, the committed job is enqueued again.
 * Adding is idempotent: BullMQ ignores a jobId it still holds.
 */
export async function reconcileOnce(
  db: Db,
  producer: Producer,
  registry: KindRegistry,
  log: Logger,
  olderThanMs: number,
): Promise<number> {
  let requeued = 0;
  for (const job of await staleQueuedJobs(db, olderThanMs)) {
    if (await producer.exists(job.id)) continue;
    const kind = registry.get(job.kind);
    await producer.add(job.kind, job.id, { attempts: job.maxAttempts, backoffMs: kind?.retry.backoffMs ?? 1000 });
    await appendEvent(db, job.id, 'requeued', { reason: 'the queue had no record of this job' });
    log.warn({ jobId: job.id }, 'reconciler re-enqueued a job the queue did not have');
    requeued++;
  }
  return requeued;
}

export function startReconciler(
  db: Db,
  producer: Producer,
  registry: KindRegistry,
  log: Logger,
  everyMs = 10_000,
): () => void {
  let running = false;
  const timer = setInterval(async () => {
    if (running || !producer.isConnected()) return;
    running = true;
    await reconcileOnce(db, producer, registry, log, everyMs)
      .catch((err) => log.warn({ err }, 'reconciler pass failed'))
      .finally(() => {
        running = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
