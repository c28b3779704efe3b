import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema.ts';

export type Db = NodePgDatabase<typeof schema> & { $client: pg.Pool };

export interface Database {
  db: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

/**
 * Keeps a pool's connection errors from ending the process. pg-pool listens for an idle client's
 * errors only: a checked-out client between queries (a transaction, a held lock, a LISTEN) has no
 * listener, and its caller adds one a turn after `await pool.connect()`, too late for a FATAL that
 * came in the same packet as the connection's ReadyForQuery (a server shutting down). An unheard
 * 'error' event ended the process, a worker with running jobs included. So every client gets a
 * listener at birth: its holder learns of the loss from its next query, and the pool drops a client
 * that is no longer queryable when it comes back.
 */
export function survivingConnectionErrors(pool: pg.Pool): pg.Pool {
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export function connectDatabase(url: string, max = 10): Database {
  const pool = survivingConnectionErrors(new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5000 }));
  const db = drizzle(pool, { schema });
  return { db, pool, close: () => pool.end() };
}
