import type http from 'node:http';
import { serve } from '@hono/node-server';
import { createLogger, type loadConfig } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import type { KindRegistry } from '../jobs/index.ts';
import { kindEnv } from '../jobs/lib/kind.ts';
import { createProducer } from '../jobs/lib/queue.ts';
import { createApp } from './app.ts';
import { AuthCache } from './auth/cache.ts';
import { createHostClient } from './host-client.ts';
import { reloadTls, tlsServeOptions } from './tls.ts';
import { RELOAD_TLS_MESSAGE, RESTART_MESSAGE, RETIRE_MESSAGE } from './web-primary.ts';

const DRAIN_LIMIT_MS = 10_000;

/** One web process (a node:cluster worker of the web supervisor): serves the app until it is retired. */
export async function serveWeb(registry: KindRegistry, config: ReturnType<typeof loadConfig>, databaseUrl: string) {
  const log = createLogger(config.LOG_LEVEL, 'web');
  const database = connectDatabase(databaseUrl, config.DECKHAND_WEB_DB_CONNECTIONS);
  const producer = await createProducer({ name: config.DECKHAND_QUEUE, databaseUrl, redisUrl: config.REDIS_URL });
  const host = createHostClient(database.db, log);
  const auth = new AuthCache(database.db, log);
  const control = { requestRestart: async (by: string) => void process.send?.({ type: RESTART_MESSAGE, by }) };
  const app = createApp({
    config,
    db: database.db,
    producer,
    registry,
    env: kindEnv(config, database.db),
    log,
    host,
    control,
    auth,
  });
  const server = serve({
    fetch: app.fetch,
    hostname: config.DECKHAND_HOST,
    port: config.DECKHAND_PORT,
    ...tlsServeOptions(config),
  }) as http.Server;
  // Signals are the supervisor's business: it retires web processes one by one.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => {});
  process.on('message', (m: { type?: string; by?: string }) => {
    if (m?.type === RELOAD_TLS_MESSAGE) reloadTls(server, config, log, m.by ?? 'unknown');
    if (m?.type !== RETIRE_MESSAGE) return;
    // Answer what is in flight with Connection: close, drop idle keep-alive sockets, then go.
    server.prependListener('request', (_req, res: http.ServerResponse) => {
      res.shouldKeepAlive = false;
    });
    // A keep-alive socket that was busy a moment ago goes idle later: keep sweeping until closed,
    // and after the drain limit cut whatever is left, so a restart always ends.
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    setTimeout(() => {
      server.getConnections((_e, open) => log.warn({ open }, 'drain limit reached: closing remaining connections'));
      server.closeAllConnections();
    }, DRAIN_LIMIT_MS).unref();
    server.close(async () => {
      clearInterval(sweep);
      await producer.close().catch(() => {});
      await host.close().catch(() => {});
      await auth.close().catch(() => {});
      await database.close().catch(() => {});
      process.exit(0);
    });
    server.closeIdleConnections();
  });
}
