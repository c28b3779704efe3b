import { and, eq, ne } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { prepared } from '../../db/prepared.ts';
import { sessions } from '../../db/schema.ts';
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
  /** Signed in with a one-time password: until it is changed, the session may only change it. */
  mustChangePassword?: boolean;
}

export interface ValidSession {
  id: string;
  csrfToken: string;
  user: SessionUser;
}

interface SessionRow {
  secret_hash: Buffer;
  csrf_token: string;
  created_at: Date;
  last_active_at: Date;
  id: string;
  username: string;
  role: SessionUser['role'];
  must_change_password: boolean;
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

/** Why a presented cookie holds no session: this check just ended it (idle or too old), or its row was already gone. */
export interface EndedSession {
  ended: 'expired' | 'gone';
}

export async function validateSession(
  db: Db,
  token: string,
  policy: SessionPolicy,
): Promise<ValidSession | EndedSession> {
  const parts = splitToken(token);
  if (!parts) return { ended: 'gone' };
  // Every page and poll runs this, so it is a prepared statement rather than a built query.
  const [row] = await prepared<SessionRow>(
    db,
    'deckhand_validate_session',
    `SELECT s.secret_hash, s.csrf_token, s.created_at, s.last_active_at, u.id, u.username, u.role,
            u.must_change_password
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND NOT u.disabled`,
    [parts.id],
  );
  if (!row || !secretMatches(parts.secret, row.secret_hash)) return { ended: 'gone' };
  const now = Date.now();
  const idle = now - row.last_active_at.getTime() > policy.idleMs;
  const tooOld = now - row.created_at.getTime() > policy.maxAgeMs;
  if (idle || tooOld) {
    await invalidateSession(db, parts.id);
    return { ended: 'expired' };
  }
  if (now - row.last_active_at.getTime() > TOUCH_EVERY_MS) {
    await db
      .update(sessions)
      .set({ lastActiveAt: new Date(now) })
      .where(eq(sessions.id, parts.id));
  }
  const user = { id: row.id, username: row.username, role: row.role, mustChangePassword: row.must_change_password };
  return { id: parts.id, csrfToken: row.csrf_token, user };
}

export async function invalidateSession(db: Db, id: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.id, id));
}

/** Ends every session of a user but `keep` (the caller's own), e.g. when their role or password changes. */
export async function invalidateUserSessions(db: Db, userId: string, keep: string | null = null): Promise<number> {
  const which = keep ? and(eq(sessions.userId, userId), ne(sessions.id, keep)) : eq(sessions.userId, userId);
  const gone = await db.delete(sessions).where(which).returning({ id: sessions.id });
  return gone.length;
}
