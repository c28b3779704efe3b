import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';

/** Failed logins allowed per window, per account and per client address. */
export const LIMITS = { account: 5, ip: 20, windowMs: 15 * 60_000 };

const keys = (username: string, ip: string) => [`user:${username.toLowerCase()}`, `ip:${ip}`];

/** Seconds until the caller may try again, or 0 when a login attempt is allowed. */
export async function loginRetryAfter(db: Db, username: string, ip: string): Promise<number> {
  const [userKey, ipKey] = keys(username, ip);
  const r = await db.execute(
    sql`SELECT key, failures, extract(epoch FROM window_start) * 1000 AS start FROM login_throttle
        WHERE key IN (${userKey}, ${ipKey})`,
  );
  let wait = 0;
  for (const row of r.rows as { key: string; failures: number; start: number }[]) {
    const limit = row.key === userKey ? LIMITS.account : LIMITS.ip;
    const remaining = Number(row.start) + LIMITS.windowMs - Date.now();
    if (row.failures >= limit && remaining > 0) wait = Math.max(wait, Math.ceil(remaining / 1000));
  }
  return wait;
}

export async function recordLoginFailure(db: Db, username: string, ip: string): Promise<void> {
  const windowSecs = LIMITS.windowMs / 1000;
  for (const key of keys(username, ip)) {
    await db.execute(
      sql`INSERT INTO login_throttle (key, failures, window_start) VALUES (${key}, 1, now())
          ON CONFLICT (key) DO UPDATE SET
            failures = CASE WHEN login_throttle.window_start < now() - make_interval(secs => ${windowSecs})
                            THEN 1 ELSE login_throttle.failures + 1 END,
            window_start = CASE WHEN login_throttle.window_start < now() - make_interval(secs => ${windowSecs})
                                THEN now() ELSE login_throttle.window_start END`,
    );
  }
}

export async function clearLoginFailures(db: Db, username: string): Promise<void> {
  await db.execute(sql`DELETE FROM login_throttle WHERE key = ${keys(username, '')[0]}`);
}
