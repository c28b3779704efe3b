/**
 * Whether an error means PostgreSQL cannot be reached right now (down, restarting, refusing
 * connections, the pool timed out), as opposed to a bad query. Callers answer 503 for these.
 * pg errors may come wrapped (drizzle's DrizzleQueryError, an AggregateError from a dual-stack
 * connect), so the whole cause chain is looked at.
 */

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
/** SQLSTATE class 08 (connection exception) and the shutdown / starting-up codes of class 57. */
const SQLSTATE = /^(08...|57P0[1-4])$/;
const MESSAGES = [
  /^Connection terminated/i, // pg: the server closed the socket, or the connect timed out
  /timeout exceeded when trying to connect/i, // pg-pool: no connection within connectionTimeoutMillis
  /Client has encountered a connection error and is not queryable/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
];

export function isDatabaseUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (!(e instanceof Error) || seen.has(e)) continue;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATE.test(code))) return true;
    if (MESSAGES.some((m) => m.test(e.message))) return true;
    queue.push(e.cause);
    if (e instanceof AggregateError) queue.push(...e.errors);
  }
  return false;
}
