import { serve } from '@hono/node-server';
import { createLogger, loadConfig } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { locateDatabase } from '../db/locate.ts';
import type { KindRegistry } from '../jobs/index.ts';
import { kindEnv } from '../jobs/lib/kind.ts';
import { createProducer } from '../jobs/lib/queue.ts';
import { startReaper } from '../worker/reaper.ts';
import { createApp } from './app.ts';
import { startReconciler } from './reconciler.ts';

/** The web tier process: load config, build dependencies, listen, close cleanly on SIGTERM. */
export async function runWeb(registry: KindRegistry): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, 'web');
  const databaseUrl = locateDatabase(config);
  const database = connectDatabase(databaseUrl, 20);
  const producer = await createProducer({ name: config.DECKHAND_QUEUE, databaseUrl, redisUrl: config.REDIS_URL });
  const app = createApp({ config, db: database.db, producer, registry, env: kindEnv(config, database.db), log });
  const stopReconciler = startReconciler(database.db, producer, registry, log);
  const stopReaper = startReaper(database.db, log, Math.max(500, Math.floor(config.DECKHAND_LEASE_MS / 3)));

  const server = serve({ fetch: app.fetch, hostname: config.DECKHAND_HOST, port: config.DECKHAND_PORT }, (info) =>
    log.info({ url: `http://${config.DECKHAND_HOST}:${info.port}`, backend: producer.backend }, 'web tier listening'),
  );

  async function shutdown(signal: string) {
    log.info({ signal }, 'web tier stopping');
    stopReconciler();
    stopReaper();
    await new Promise((resolve) => server.close(resolve));
    await producer.close();
    await database.close();
    process.exit(0);
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}
