import type { Logger } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { isOpen, jobStandings, jobStatus } from '../../db/job-repair.ts';
import { appendEvent, staleQueuedJobs } from '../../db/jobs.ts';
import type { KindRegistry } from '../index.ts';
import type { Producer } from './queue.ts';

/** BullMQ states from which the job still reaches a worker (or is with one now). */
const LIVE_QUEUE_STATES = new Set([
  'wait',
  'waiting',
  'delayed',
  'prioritized',
  'paused',
  'active',
  'waiting-children',
]);

/**
 * A job that PostgreSQL says is waiting for a worker (`queued`/`retrying`) but that BullMQ will
 * never hand out: never added (a crash between commit and add, a lost Redis), or failed or
 * completed there without a claim (a worker killed between taking it and claiming it, a claim
 * that could not reach the database). BullMQ keeps a finished job's id taken, so the dead entry
 * is removed before the job is added again.
 */
async function requeueStranded(db: Db, producer: Producer, registry: KindRegistry, log: Logger, olderThanMs: number) {
  let requeued = 0;
  for (const job of await staleQueuedJobs(db, olderThanMs)) {
    const queueState = await producer.state(job.id);
    if (LIVE_QUEUE_STATES.has(queueState)) continue;
    // Read the row again: a worker may have taken the job to its end while we looked at the queue.
    const status = await jobStatus(db, job.id);
    if (status !== 'queued' && status !== 'retrying') continue;
    if (queueState !== 'unknown') await producer.remove(job.id);
    const kind = registry.get(job.kind);
    await producer.add(job.kind, job.id, { attempts: job.maxAttempts, backoffMs: kind?.retry.backoffMs ?? 1000 });
    const now = await producer.state(job.id);
    if (!LIVE_QUEUE_STATES.has(now)) {
      log.warn(
        { jobId: job.id, queueState: now },
        'reconciler could not re-enqueue a stranded job; trying again next pass',
      );
      continue;
    }
    const reason = queueState === 'unknown' ? 'the queue had no record of this job' : `the queue had it ${queueState}`;
    await appendEvent(db, job.id, 'requeued', { reason });
    log.warn(
      { jobId: job.id, status, queueState, action: 're-enqueued' },
      `reconciler re-enqueued a ${status} job: ${reason}`,
    );
    requeued++;
  }
  return requeued;
}

/** A job BullMQ still means to hand out although its row has ended (or does not exist): removed. */
async function removeOrphans(db: Db, producer: Producer, log: Logger) {
  const ids = await producer.pendingJobIds();
  const standings = await jobStandings(db, ids);
  let removed = 0;
  for (const id of ids) {
    const status = standings.get(id)?.status ?? null;
    if (status && isOpen(status)) continue;
    await producer.remove(id);
    log.warn(
      { jobId: id, status, action: 'removed from the queue' },
      'reconciler removed a queued entry whose job has ended or does not exist',
    );
    removed++;
  }
  return removed;
}

/**
 * Makes BullMQ agree with PostgreSQL, which is the record: every open row has a live BullMQ job
 * and every pending BullMQ job an open row. Returns how many disagreements it repaired, each
 * logged at warn with the job id and what was done. Safe to run in several processes at once:
 * a jobId is added once, and a claim only succeeds from `queued`/`retrying`.
 */
export async function reconcileOnce(
  db: Db,
  producer: Producer,
  registry: KindRegistry,
  log: Logger,
  olderThanMs: number,
): Promise<number> {
  const requeued = await requeueStranded(db, producer, registry, log, olderThanMs);
  return requeued + (await removeOrphans(db, producer, log));
}

/** Runs the reconciler every `everyMs` in this process (web tier and workers alike); returns its stop. */
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
      .catch((err) => log.warn({ err: String(err) }, 'reconciler pass failed'))
      .finally(() => {
        running = false;
      });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
