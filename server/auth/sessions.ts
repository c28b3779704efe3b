import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { sessions, users } from '../../db/schema.ts';
import { hashSecret, randomString, secretMatches, splitToken } from './secrets.ts';

/** Lucia's session design: the cookie holds `id.secret`, the database only SHA-256(secret). */
export interface SessionPolicy {
  idleMs: number;
  maxAgeMs: number;
}

export interface SessionUser {
  id: string;
  username: string;
  role: 'viewer' | 'operator' | 'admin';
}

export interface ValidSession {
  id: string;
  csrfToken: string;
  user: SessionUser;
}

/** Touching the row on every request would write on every poll; once a minute is enough. */
const TOUCH_EVERY_MS = 60_000;

export async function createSession(db: Db, userId: string): Promise<{ token: string; csrfToken: string }> {
  const id = randomString();
  const secret = randomString(20);
  const csrfToken = randomString();
  await db.insert(sessions).values({ id, userId, secretHash: hashSecret(secret), csrfToken });
  return { token: `${id}.${secret}`, csrfToken };
}

export async function validateSession(db: Db, token: string, policy: SessionPolicy): Promise<ValidSession | null> {
  const parts = splitToken(token);
  if (!parts) return null;
  const [row] = await db
    .select({ s: sessions, u: { id: users.id, username: users.username, role: users.role } })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.id, parts.id));
  if (!row || !secretMatches(parts.secret, row.s.secretHash)) return null;
  const now = Date.now();
  const idle = now - row.s.lastActiveAt.getTime() > policy.idleMs;
  const tooOld = now - row.s.createdAt.getTime() > policy.maxAgeMs;
  if (idle || tooOld) {
    await invalidateSession(db, row.s.id);
    return null;
  }
  if (now - row.s.lastActiveAt.getTime() > TOUCH_EVERY_MS) {
    await db
      .update(sessions)
      .set({ lastActiveAt: new Date(now) })
      .where(eq(sessions.id, row.s.id));
  }
  return { id: row.s.id, csrfToken: row.s.csrfToken, user: row.u };
}

export async function invalidateSession(db: Db, id: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.id, id));
}

/** Ends every session of a user, e.g. when their role changes. */
export async function invalidateUserSessions(db: Db, userId: string): Promise<number> {
  const gone = await db.delete(sessions).where(eq(sessions.userId, userId)).returning({ id: sessions.id });
  return gone.length;
}
