import type { Db } from './client.ts';

/**
 * Runs a named prepared statement on the pool. The hot paths (auth, enqueue,
 * claim, finish, fragments) use these: PostgreSQL parses and plans each once per
 * connection, and no query builder runs per call.
 */
export async function prepared<R = Record<string, unknown>>(
  db: Db,
  name: string,
  text: string,
  values: unknown[],
): Promise<R[]> {
  const result = await db.$client.query({ name, text, values });
  return result.rows as R[];
}
