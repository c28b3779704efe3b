import { createLogger, loadConfig } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { listenControl } from '../db/control.ts';
import { locateDatabase } from '../db/locate.ts';
import { stopWithParent } from '../server/supervisor.ts';
import { holdThroughOutage } from './hold.ts';
import type { HandlerRegistry } from './kinds/handler.ts';
import { startWorkerService } from './service.ts';

/** A recycle waits for running jobs however long they take (a deploy's build may); systemd's stop timeout does not apply. */
const RECYCLE_GRACE_MS = 6 * 3600_000;

/** A worker process: load config, build dependencies, take jobs, close cleanly on SIGTERM. */
export async function runWorker(registry: HandlerRegistry): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, 'worker');
  const databaseUrl = locateDatabase(config);
  const database = connectDatabase(databaseUrl, config.DECKHAND_WORKER_CONCURRENCY + 5);
  const queue = { name: config.DECKHAND_QUEUE, databaseUrl, redisUrl: config.REDIS_URL };
  // Until the service runs there is nothing to stop cleanly.
  let onParentGone = (_why: string): void => process.exit(0);
  // Started by `npm start`: a supervisor that died (even by SIGKILL) must not leave this worker taking jobs.
  stopWithParent((why) => onParentGone(why));
  // Started while PostgreSQL is away (a restart of both, a supervisor's retry): wait for it rather
  // than exit, since BullMQ's PostgreSQL backend keeps a failed first connect for good.
  await holdThroughOutage(() => database.pool.query('SELECT 1'), log, 'worker start');

  // Exit code 75 (EX_TEMPFAIL) asks the supervisor or systemd for a fresh process.
  const service = await startWorkerService(config, queue, database.db, registry, log, (why) => {
    log.error({ why }, 'watchdog: worker is stuck, restarting');
    void shutdown('watchdog', 75);
  });

  // After a deploy of Deckhand, each worker finishes its jobs and exits 75 so that a fresh one runs the new release.
  const { stop: stopListening } = listenControl(database.db, log, (m) => {
    if (m.type === 'recycle-workers')
      void shutdown(`recycled after a deploy of Deckhand by ${m.by}`, 75, RECYCLE_GRACE_MS);
  });

  let stopping = false;
  async function shutdown(reason: string, code = 0, graceMs = config.DECKHAND_SHUTDOWN_GRACE_MS) {
    if (stopping) {
      // A SIGTERM during a recycle's long wait for its jobs: from now on only the normal grace applies,
      // so the jobs are stopped and recorded before the supervisor (or systemd) kills this process.
      service.shortenGrace(graceMs);
      return;
    }
    stopping = true;
    log.info({ reason, active: service.activeCount() }, 'worker stopping');
    await stopListening();
    await service.close(graceMs);
    await database.close();
    process.exit(code);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // A closed terminal sends SIGHUP to the whole process group: stop as cleanly as on SIGTERM, jobs included.
  process.on('SIGHUP', () => void shutdown('SIGHUP'));
  onParentGone = (why) => void shutdown(why);
}
