import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectDatabase, type Database } from '../../db/client.ts';
import { migrateDatabase } from '../../db/migrate.ts';

/** The real PostgreSQL the tests use; each test file gets a database of its own. */
export const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestDatabase extends Database {
  url: string;
  drop(): Promise<void>;
}

const withAdmin = async (sql: string, admin = adminUrl) => {
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
};

/** A new, migrated database on the shared server, or on the server of `admin` (a private one). */
export async function freshDatabase(admin = adminUrl): Promise<TestDatabase> {
  const name = `deckhand_t_${randomBytes(5).toString('hex')}`;
  await withAdmin(`CREATE DATABASE ${name}`, admin);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const database = connectDatabase(url.toString(), 10);
  await migrateDatabase(database.db);
  return {
    ...database,
    url: url.toString(),
    async drop() {
      await database.close();
      await withAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, admin);
    },
  };
}
