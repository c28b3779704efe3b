import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';

/**
 * Login throttling, shared by every web process through PostgreSQL. Each attempt is claimed (counted)
 * in the same statement that checks the limit, before its password is checked, so a burst of
 * concurrent guesses can never get more checks than the limit allows.
 *
 * - Per account: the first `account` attempts go through at once; after that each attempt waits an
 *   exponentially growing delay (OWASP "login throttling"), never a lock-out: a correct password from
 *   a known client (devices.ts) skips it. A day without attempts forgets the count.
 * - Per client address: `ip` attempts per window, successes given back.
 */
export const LIMITS = {
  account: 5,
  firstDelaySecs: 30,
  maxDelaySecs: 15 * 60,
  accountMemorySecs: 86_400,
  ip: 20,
  windowMs: 15 * 60_000,
  passwordChange: 5,
};

export type Claim = { ok: true } | { ok: false; retryAfter: number };

const accountKey = (username: string) => `user:${username.toLowerCase()}`;
const ipKey = (ip: string) => `ip:${ip}`;

async function retryAfter(db: Db, key: string, until: SQL): Promise<number> {
  const r = await db.execute(
    sql`SELECT ceil(extract(epoch FROM ${until} - now()))::int AS secs FROM login_throttle WHERE key = ${key}`,
  );
  return Math.max(1, Number((r.rows[0] as { secs?: number } | undefined)?.secs ?? 1));
}

/** Counts one password check against the account, or says how long an unknown client must wait. */
export async function claimAccountAttempt(db: Db, username: string): Promise<Claim> {
  const key = accountKey(username);
  const n = sql`(CASE WHEN t.window_start < now() - make_interval(secs => ${LIMITS.accountMemorySecs})
                 THEN 1 ELSE t.failures + 1 END)`;
  const delay = (count: SQL) =>
    sql`make_interval(secs => CASE WHEN ${count} < ${LIMITS.account} THEN 0
          ELSE least(${LIMITS.firstDelaySecs} * power(2, ${count} - ${LIMITS.account}), ${LIMITS.maxDelaySecs}) END)`;
  const claimed = await db.execute(
    sql`INSERT INTO login_throttle AS t (key, failures, window_start, next_attempt_at)
        VALUES (${key}, 1, now(), now() + ${delay(sql`1`)})
        ON CONFLICT (key) DO UPDATE SET failures = ${n}, window_start = now(), next_attempt_at = now() + ${delay(n)}
        WHERE t.next_attempt_at IS NULL OR t.next_attempt_at <= now()
        RETURNING failures`,
  );
  if (claimed.rows.length > 0) return { ok: true };
  return { ok: false, retryAfter: await retryAfter(db, key, sql`next_attempt_at`) };
}

/** Counts one attempt under `key`, at most `limit` per window, or says how long to wait. */
async function claimWindowed(db: Db, key: string, limit: number): Promise<Claim> {
  const expired = sql`t.window_start < now() - make_interval(secs => ${LIMITS.windowMs / 1000})`;
  const claimed = await db.execute(
    sql`INSERT INTO login_throttle AS t (key, failures, window_start) VALUES (${key}, 1, now())
        ON CONFLICT (key) DO UPDATE SET
          failures = CASE WHEN ${expired} THEN 1 ELSE t.failures + 1 END,
          window_start = CASE WHEN ${expired} THEN now() ELSE t.window_start END
        WHERE ${expired} OR t.failures < ${limit}
        RETURNING failures`,
  );
  if (claimed.rows.length > 0) return { ok: true };
  const until = sql`window_start + make_interval(secs => ${LIMITS.windowMs / 1000})`;
  return { ok: false, retryAfter: await retryAfter(db, key, until) };
}

/** Gives back a windowed claim: a success, or an attempt refused before its password was checked. */
async function releaseWindowed(db: Db, key: string): Promise<void> {
  await db.execute(sql`UPDATE login_throttle SET failures = greatest(failures - 1, 0) WHERE key = ${key}`);
}

/** Counts one attempt against the client address, or says how long it must wait. */
export const claimIpAttempt = (db: Db, ip: string): Promise<Claim> => claimWindowed(db, ipKey(ip), LIMITS.ip);
export const releaseIpAttempt = (db: Db, ip: string): Promise<void> => releaseWindowed(db, ipKey(ip));

/**
 * Checks of the current password when a signed-in user changes it: a stolen session must not
 * become a way to guess the password. Limited per user, apart from sign-in's limits.
 */
const passwordChangeKey = (userId: string) => `pwchange:${userId}`;
export const claimPasswordChangeAttempt = (db: Db, userId: string): Promise<Claim> =>
  claimWindowed(db, passwordChangeKey(userId), LIMITS.passwordChange);
export const releasePasswordChangeAttempt = (db: Db, userId: string): Promise<void> =>
  releaseWindowed(db, passwordChangeKey(userId));

/** Forgets counters that no longer hold anything back, so guessed names do not pile up. */
export async function pruneLoginThrottle(db: Db): Promise<void> {
  await db.execute(
    sql`DELETE FROM login_throttle
        WHERE window_start < now() - make_interval(secs => ${LIMITS.accountMemorySecs})
          AND coalesce(next_attempt_at, now()) <= now()`,
  );
}

/** A correct password from an unknown client ends the account's delays. */
export async function clearAccountAttempts(db: Db, username: string): Promise<void> {
  await db.execute(sql`DELETE FROM login_throttle WHERE key = ${accountKey(username)}`);
}
