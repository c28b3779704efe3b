import { and, eq, ne } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { prepared } from '../../db/prepared.ts';
import { sessions } from '../../db/schema.ts';
import { type AuthCache, readCheck } from './cache.ts';
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

/** A session's check as read from the database, times in ms. */
interface CachedSession {
  secretHash: Buffer;
  csrfToken: string;
  createdAt: number;
  lastActiveAt: number;
  user: SessionUser;
}

async function loadSession(db: Db, id: string): Promise<CachedSession | null> {
  // Every page and poll without a cached check runs this, so it is a prepared statement rather than a built query.
  const [row] = await prepared<SessionRow>(
    db,
    'deckhand_validate_session',
    `SELECT s.secret_hash, s.csrf_token, s.created_at, s.last_active_at, u.id, u.username, u.role,
            u.must_change_password
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND NOT u.disabled`,
    [id],
  );
  if (!row) return null;
  const user = { id: row.id, username: row.username, role: row.role, mustChangePassword: row.must_change_password };
  return {
    secretHash: row.secret_hash,
    csrfToken: row.csrf_token,
    createdAt: row.created_at.getTime(),
    lastActiveAt: row.last_active_at.getTime(),
    user,
  };
}

/**
 * The session a cookie names, ending it when it is idle or too old. With a cache
 * (server/auth/cache.ts) the check is reused for a few seconds; logouts and account changes
 * reach it by NOTIFY. A session that looks ended from the cache is checked in the database.
 */
export async function validateSession(
  db: Db,
  token: string,
  policy: SessionPolicy,
  cache?: AuthCache,
): Promise<ValidSession | EndedSession> {
  const parts = splitToken(token);
  if (!parts) return { ended: 'gone' };
  const now = Date.now();
  const ends = (s: CachedSession) => Math.min(s.lastActiveAt + policy.idleMs, s.createdAt + policy.maxAgeMs);
  let s = cache?.get<CachedSession>('session', parts.id);
  if (!s || ends(s) < now) {
    const { since, loaded } = await readCheck(cache, 'session', parts.id, () => loadSession(db, parts.id));
    if (!loaded) return { ended: 'gone' };
    s = loaded;
    if (secretMatches(parts.secret, s.secretHash) && ends(s) >= now)
      cache?.set('session', parts.id, s.user.id, s, since);
  }
  if (!secretMatches(parts.secret, s.secretHash)) return { ended: 'gone' };
  if (ends(s) < now) {
    await invalidateSession(db, parts.id);
    cache?.forget('session', parts.id);
    return { ended: 'expired' };
  }
  if (now - s.lastActiveAt > TOUCH_EVERY_MS) {
    s.lastActiveAt = now; // first, so that concurrent requests of this session skip the write
    await db
      .update(sessions)
      .set({ lastActiveAt: new Date(now) })
      .where(eq(sessions.id, parts.id));
  }
  return { id: parts.id, csrfToken: s.csrfToken, user: s.user };
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
