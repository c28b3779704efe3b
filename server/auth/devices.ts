import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { loginDevices } from '../../db/schema.ts';
import { hashSecret, randomString, splitToken } from './secrets.ts';

/**
 * OWASP's device cookie: a client that signed in successfully gets `id.secret` (only the secret's
 * SHA-256 is stored). A correct password from it skips the account's delay, so nobody can lock a
 * user out by guessing; a device that sends `DEVICE_FAILURES` wrong passwords is no longer known.
 */
export const DEVICE_COOKIE = 'deckhand_device';
export const DEVICE_MAX_AGE_DAYS = 180;
export const DEVICE_FAILURES = 5;
export const DEVICES_PER_USER = 20;

/** Counts one password check against the user's known device: its id, or null when the cookie is not one. */
export async function claimDeviceAttempt(db: Db, cookie: string | undefined, userId: string): Promise<string | null> {
  const parts = cookie ? splitToken(cookie) : null;
  if (!parts) return null;
  const claimed = await db
    .update(loginDevices)
    .set({ failures: sql`${loginDevices.failures} + 1`, lastUsedAt: sql`now()` })
    .where(
      and(
        eq(loginDevices.id, parts.id),
        eq(loginDevices.userId, userId),
        eq(loginDevices.secretHash, hashSecret(parts.secret)),
        lt(loginDevices.failures, DEVICE_FAILURES),
        sql`${loginDevices.lastUsedAt} > now() - make_interval(days => ${DEVICE_MAX_AGE_DAYS})`,
      ),
    )
    .returning({ id: loginDevices.id });
  return claimed[0]?.id ?? null;
}

export async function deviceSucceeded(db: Db, id: string): Promise<void> {
  await db.update(loginDevices).set({ failures: 0 }).where(eq(loginDevices.id, id));
}

/**
 * Remembers a client after a successful sign-in; returns its cookie value. Keeps a user's most
 * recently used `DEVICES_PER_USER` (clients that drop cookies would otherwise add a row each time).
 */
export async function rememberDevice(db: Db, userId: string): Promise<string> {
  await db.execute(
    sql`DELETE FROM login_devices WHERE user_id = ${userId} AND id NOT IN (
          SELECT id FROM login_devices WHERE user_id = ${userId}
          AND last_used_at > now() - make_interval(days => ${DEVICE_MAX_AGE_DAYS})
          ORDER BY last_used_at DESC LIMIT ${DEVICES_PER_USER - 1})`,
  );
  const id = randomString();
  const secret = randomString(20);
  await db.insert(loginDevices).values({ id, userId, secretHash: hashSecret(secret) });
  return `${id}.${secret}`;
}
