import { createLogger, loadConfig } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { locateDatabase } from '../db/locate.ts';
import type { KindRegistry } from '../jobs/index.ts';
import { startWorkerService } from './service.ts';

/** A worker process: load config, build dependencies, take jobs, close cleanly on SIGTERM. */
export async function runWorker(registry: KindRegistry): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, 'worker');
  const databaseUrl = locateDatabase(config);
  const database = connectDatabase(databaseUrl, config.DECKHAND_WORKER_CONCURRENCY + 4);
  const queue = { name: config.DECKHAND_QUEUE, databaseUrl, redisUrl: config.REDIS_URL };

  // Exit code 75 (EX_TEMPFAIL) asks the supervisor or systemd for a fresh process.
  const service = await startWorkerService(config, queue, database.db, registry, log, (why) => {
    log.error({ why }, 'watchdog: worker is stuck, restarting');
    void shutdown('watchdog', 75);
  });

  let stopping = false;
  async function shutdown(reason: string, code = 0) {
    if (stopping) return;
    stopping = true;
    log.info({ reason, active: service.activeCount() }, 'worker stopping');
    await service.close(config.DECKHAND_SHUTDOWN_GRACE_MS);
    await database.close();
    process.exit(code);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
