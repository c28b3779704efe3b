import fs from 'node:fs';
import path from 'node:path';
import { type Config, createLogger } from '../../config.ts';
import { connectDatabase, type Database } from '../../db/client.ts';
import { startEmbeddedPostgres } from '../../db/embedded.ts';
import { locateDatabase, NoDatabaseError } from '../../db/locate.ts';
import { migrateDatabase } from '../../db/migrate.ts';
import { migrateQueueBackend } from '../../jobs/lib/queue.ts';
import { CliError } from './errors.ts';

/**
 * Runs `fn` against Deckhand's database: DATABASE_URL, the embedded cluster of a
 * running `npm start`, or else the embedded cluster started just for this command.
 */
export async function withDatabase<T>(config: Config, fn: (db: Database, url: string) => Promise<T>): Promise<T> {
  let url: string;
  let stop = async () => {};
  try {
    url = locateDatabase(config);
  } catch (err) {
    if (!(err instanceof NoDatabaseError) || !fs.existsSync(path.join(config.DECKHAND_DATA_DIR, 'pg'))) {
      throw new CliError(err instanceof Error ? err.message : String(err));
    }
    const cluster = await startEmbeddedPostgres(config.DECKHAND_DATA_DIR, createLogger('warn', 'cli'));
    url = cluster.url;
    stop = cluster.stop;
  }
  const database = connectDatabase(url, 2);
  try {
    return await fn(database, url);
  } finally {
    await database.close();
    await stop();
  }
}

export async function migrate(config: Config): Promise<{ text: string; data: unknown }> {
  return withDatabase(config, async ({ db }, url) => {
    await migrateDatabase(db);
    await migrateQueueBackend({ name: config.DECKHAND_QUEUE, databaseUrl: url, redisUrl: config.REDIS_URL });
    return { text: 'database is up to date', data: { migrated: true } };
  });
}
