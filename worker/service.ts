import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Config, Logger } from '../config.ts';
import type { Db } from '../db/client.ts';
import { WorkerShutdownError } from '../jobs/lib/errors.ts';
import { kindEnv } from '../jobs/lib/kind.ts';
import { createNotifier } from '../jobs/lib/notifier.ts';
import { createConsumer, createProducer, type QueueSettings, SCHEDULE_TICK } from '../jobs/lib/queue.ts';
import { startReconciler } from '../jobs/lib/reconciler.ts';
import type { TickData } from '../jobs/lib/schedules.ts';
import { hostReadHandlers } from './host-reads/index.ts';
import { startHostServer } from './host-server.ts';
import type { HandlerRegistry } from './kinds/handler.ts';
import { startPruner } from './pruner.ts';
import { startReaper } from './reaper.ts';
import { createRunner } from './runner.ts';
import { processTick, startScheduleSync } from './schedule-ticks.ts';
import { startStatusPublisher } from './status/publisher.ts';

export interface WorkerService {
  owner: string;
  activeCount(): number;
  /** Stops taking jobs, lets running ones finish for `graceMs`, then stops them. */
  close(graceMs: number): Promise<void>;
  /** During a close: running jobs get at most `graceMs` more (a SIGTERM during a recycle's long wait). */
  shortenGrace(graceMs: number): void;
}

/** The running jobs' remaining time during a close; a SIGTERM may shorten it. */
interface Grace {
  endsAt: number;
  timer?: NodeJS.Timeout;
  restart(ms: number): void;
}

/** This worker's own database and queue, as the environment that `deckhand migrate` reads. */
const connectionEnv = (q: QueueSettings): Record<string, string> => ({
  DATABASE_URL: q.databaseUrl,
  ...(q.redisUrl ? { REDIS_URL: q.redisUrl } : {}),
  DECKHAND_QUEUE: q.name,
});

export async function startWorkerService(
  config: Config,
  queue: QueueSettings,
  db: Db,
  registry: HandlerRegistry,
  log: Logger,
  onStuck: (why: string) => void,
): Promise<WorkerService> {
  const owner = `${config.hostname}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const env = { ...kindEnv(config, db), ownConnection: connectionEnv(queue) };
  // Before the consumer: a schedule's tick creates its job through this producer.
  const probe = await createProducer(queue);
  const notifier = createNotifier({ db, producer: probe, log, backoffMs: config.DECKHAND_NOTIFY_BACKOFF_MS });
  const runner = createRunner({
    db,
    registry,
    env,
    owner,
    leaseMs: config.DECKHAND_LEASE_MS,
    cancelGraceMs: config.DECKHAND_CANCEL_GRACE_MS,
    outputCapBytes: config.DECKHAND_OUTPUT_CAP_BYTES,
    log,
    onEnded: (job, ended) => notifier.jobEnded(job, ended.ruleEvents),
  });
  let lastPickup = Date.now();
  const worker = createConsumer(
    queue,
    async (job, token) => {
      lastPickup = Date.now();
      // A tick is not a jobs row: it creates one (worker/schedule-ticks.ts).
      if (job.name === SCHEDULE_TICK)
        return processTick({ db, producer: probe, registry, env, log }, job as never as Job<TickData>);
      return runner.processor(job, token);
    },
    // A dead worker's job must not be re-delivered: the reaper marks it lost instead.
    {
      concurrency: config.DECKHAND_WORKER_CONCURRENCY,
      maxStalledCount: 0,
      lockDuration: config.DECKHAND_QUEUE_LOCK_MS,
      stalledInterval: config.DECKHAND_QUEUE_LOCK_MS,
    },
  );
  worker.on('error', (err) => log.warn({ err: err.message }, 'worker connection error'));
  await worker.waitUntilReady();
  const stopReaper = startReaper(db, log, {
    leaseMs: config.DECKHAND_LEASE_MS,
    everyMs: Math.max(500, Math.floor(config.DECKHAND_LEASE_MS / 3)),
    hostname: config.hostname,
    onLost: (jobs) => notifier.jobsEnded(jobs.map((j) => j.id)),
  });
  const hostServer = startHostServer(db, {
    host: config.DECKHAND_HOST_NAME,
    worker: owner,
    handlers: hostReadHandlers({ config, db, log }),
    log,
  });
  const statusPublisher = startStatusPublisher(db, {
    host: config.DECKHAND_HOST_NAME,
    worker: owner,
    intervalMs: config.DECKHAND_STATUS_INTERVAL_MS,
    managed: config.DECKHAND_MANAGED_PATHS,
    log,
    onSample: (sample) => notifier.targetsSampled(sample),
  });
  const pruner = startPruner(db, log, {
    worker: owner,
    everyMs: config.DECKHAND_PRUNE_INTERVAL_MS,
    checkMs: Math.min(config.DECKHAND_PRUNE_INTERVAL_MS, 300_000),
    auditFloorDays: config.DECKHAND_AUDIT_RETENTION_MIN_DAYS,
  });
  const stopReconciler = startReconciler(db, probe, registry, log);
  const stopScheduleSync = startScheduleSync(db, probe, log);

  // bullmq#4378: after an outage a worker can stop fetching while claiming to run.
  const watchdog = setInterval(async () => {
    if (!worker.isRunning()) return onStuck('the BullMQ worker stopped running');
    const idleFor = Date.now() - lastPickup;
    if (runner.activeCount() >= config.DECKHAND_WORKER_CONCURRENCY || idleFor < 60_000) return;
    const waiting = await probe.waitingCount().catch(() => 0);
    if (waiting > 0) onStuck(`${waiting} jobs waiting but none picked up for ${Math.round(idleFor / 1000)} s`);
  }, 15_000);
  watchdog.unref();
  log.info({ owner, backend: probe.backend }, 'worker ready');

  const grace: Grace = { endsAt: Number.POSITIVE_INFINITY, restart: () => {} };
  return {
    owner,
    activeCount: runner.activeCount,
    shortenGrace(graceMs) {
      if (Date.now() + graceMs >= grace.endsAt) return;
      grace.endsAt = Date.now() + graceMs; // a cap for a close that has not started yet
      grace.restart(graceMs);
    },
    async close(graceMs) {
      clearInterval(watchdog);
      stopReaper();
      stopReconciler();
      stopScheduleSync();
      await pruner.stop();
      await hostServer.stop();
      await statusPublisher.stop();
      const closing = worker.close();
      const graceOver = new Promise<false>((resolve) => {
        grace.restart = (ms) => {
          clearTimeout(grace.timer);
          grace.endsAt = Date.now() + ms;
          grace.timer = setTimeout(() => resolve(false), ms);
        };
      });
      grace.restart(Math.max(0, Math.min(graceMs, grace.endsAt - Date.now())));
      const finished = await Promise.race([closing.then(() => true), graceOver]);
      clearTimeout(grace.timer);
      if (!finished) {
        log.warn({ active: runner.activeCount() }, 'grace period over: stopping running jobs');
        // Each job's group gets SIGTERM, then SIGKILL after the cancel grace; its row ends `failed` once
        // the group is gone, and only then does `closing` resolve. A job that BullMQ handed over just
        // before the close is claimed after this first abort, so keep stopping newcomers until then.
        const reason = new WorkerShutdownError('the worker shut down before the job finished');
        runner.abortAll(reason);
        const latecomers = setInterval(() => runner.abortAll(reason), 200);
        await closing.finally(() => clearInterval(latecomers));
      }
      await probe.close();
    },
  };
}
