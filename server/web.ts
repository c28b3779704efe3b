import cluster from 'node:cluster';
import { type Config, createLogger, type Logger, loadConfig } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { locateDatabase } from '../db/locate.ts';
import type { KindRegistry } from '../jobs/index.ts';
import { startLeaseReaper } from '../jobs/lib/lease-reaper.ts';
import { createNotifier } from '../jobs/lib/notifier.ts';
import { createProducer } from '../jobs/lib/queue.ts';
import { startReconciler } from '../jobs/lib/reconciler.ts';
import { stopWithParent } from './supervisor.ts';
import { superviseWebProcesses, type WebForkOptions } from './web-primary.ts';

/**
 * The web tier: a supervisor process that owns the listening socket, the
 * reconciler and a reaper, and DECKHAND_WEB_PROCESSES processes that serve the
 * app. Closes cleanly on SIGTERM.
 */
export async function runWeb(registry: KindRegistry): Promise<void> {
  const config = loadConfig();
  const databaseUrl = locateDatabase(config);
  if (cluster.isPrimary) return runSupervisor(registry, config, databaseUrl);
  // The app (routes, views, OpenAPI) is loaded by the web processes only: the supervisor never serves.
  const { serveWeb } = await import('./web-process.ts');
  return serveWeb(registry, config, databaseUrl);
}

async function runSupervisor(registry: KindRegistry, config: Config, databaseUrl: string) {
  const log = createLogger(config.LOG_LEVEL, 'web');
  const primary = await startWebPrimary(registry, config, databaseUrl, log);
  let stopping = false;
  async function shutdown(signal: string) {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'web tier stopping');
    await primary.stop();
    process.exit(0);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // Under `npm start`: stop with Deckhand's supervisor, however it died (web processes follow this one).
  stopWithParent((why) => void shutdown(why));
}

/**
 * What the web tier's primary process runs beside its web processes: the reconciler, the lease
 * reaper and the notifier. `npm start` runs it in its own process (no web supervisor of its own).
 */
export async function startWebPrimary(
  registry: KindRegistry,
  config: Config,
  databaseUrl: string,
  log: Logger,
  fork: WebForkOptions = {},
) {
  const database = connectDatabase(databaseUrl, 4);
  const producer = await createProducer({ name: config.DECKHAND_QUEUE, databaseUrl, redisUrl: config.REDIS_URL });
  const stopReconciler = startReconciler(database.db, producer, registry, log);
  // Marks rows lost only: killing a dead worker's processes is for the workers (DESIGN §9).
  const notifier = createNotifier({ db: database.db, producer, log, backoffMs: config.DECKHAND_NOTIFY_BACKOFF_MS });
  const stopReaper = startLeaseReaper(database.db, log, {
    leaseMs: config.DECKHAND_LEASE_MS,
    everyMs: Math.max(500, Math.floor(config.DECKHAND_LEASE_MS / 3)),
    onLost: (jobs) => void notifier.jobsEnded(jobs.map((j) => j.id)),
  });
  const web = superviseWebProcesses(config, database.db, log, fork);
  await web.start();
  return {
    async stop() {
      stopReconciler();
      stopReaper();
      await web.stop();
      await producer.close();
      await database.close();
    },
  };
}
