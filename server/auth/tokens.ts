import type { Db } from '../../db/client.ts';
import { prepared } from '../../db/prepared.ts';
import { apiTokens } from '../../db/schema.ts';
import { type AuthCache, readCheck } from './cache.ts';
import { hashSecret, randomString, secretMatches, splitToken } from './secrets.ts';
import type { SessionUser } from './sessions.ts';

const PREFIX = 'dh_';

/** A token given no expiry gets this one (DESIGN §3). */
export const DEFAULT_TOKEN_DAYS = 90;
export const defaultTokenExpiry = (): Date => new Date(Date.now() + DEFAULT_TOKEN_DAYS * 86_400_000);

/** Recording every use would write on every API call; once a minute per token is enough. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Creates an API token and returns it with its id; the token is shown once and stored only as a
 * hash. `null` means it never expires (only tests and the benchmark ask for that).
 */
export async function createApiToken(
  db: Db,
  userId: string,
  expiresAt: Date | null = defaultTokenExpiry(),
): Promise<string> {
  return (await issueApiToken(db, userId, expiresAt)).token;
}

export async function issueApiToken(db: Db, userId: string, expiresAt: Date | null) {
  const id = randomString();
  const secret = randomString(20);
  await db.insert(apiTokens).values({ id, userId, secretHash: hashSecret(secret), expiresAt });
  return { id, token: `${PREFIX}${id}.${secret}`, expiresAt };
}

interface CachedToken {
  secretHash: Buffer;
  usable: boolean;
  user: SessionUser;
  /** When this process last recorded a use (or saw one recorded), in ms. */
  usedAt: number;
}

/** Reads a token's check from the database: its user, whether it is usable now, when it expires. */
async function loadToken(db: Db, id: string) {
  // Every API call without a cached check runs this, so it is a prepared statement rather than a built query.
  const [row] = await prepared<{
    secret_hash: Buffer;
    usable: boolean;
    used_at: Date | null;
    expires_at: Date | null;
    id: string;
    username: string;
    role: SessionUser['role'];
  }>(
    db,
    'deckhand_validate_token_v3',
    `SELECT t.secret_hash, u.id, u.username, u.role, t.last_used_at AS used_at, t.expires_at,
            (t.revoked_at IS NULL AND NOT u.disabled AND coalesce(t.expires_at > now(), true)) AS usable
     FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1`,
    [id],
  );
  if (!row) return null;
  const user: SessionUser = { id: row.id, username: row.username, role: row.role };
  const token: CachedToken = {
    secretHash: row.secret_hash,
    usable: row.usable,
    user,
    usedAt: row.used_at?.getTime() ?? 0,
  };
  return { token, expiresAt: row.expires_at?.getTime() ?? Number.POSITIVE_INFINITY };
}

/**
 * The caller of a valid token: not expired, not revoked, its user not disabled. With a cache
 * (server/auth/cache.ts) the check is reused for a few seconds; revocations reach it by NOTIFY.
 */
export async function validateApiToken(db: Db, token: string, cache?: AuthCache): Promise<SessionUser | null> {
  if (!token.startsWith(PREFIX)) return null;
  const parts = splitToken(token.slice(PREFIX.length));
  if (!parts) return null;
  let t = cache?.get<CachedToken>('token', parts.id);
  if (!t) {
    const { since, loaded } = await readCheck(cache, 'token', parts.id, () => loadToken(db, parts.id));
    if (!loaded) return null;
    t = loaded.token;
    cache?.set('token', parts.id, t.user.id, t, since, loaded.expiresAt);
  }
  if (!secretMatches(parts.secret, t.secretHash) || !t.usable) return null;
  const now = Date.now();
  if (now - t.usedAt > TOUCH_EVERY_MS) {
    // At most once a minute per token and process (set first, so concurrent requests skip it). It is a
    // record, not a check: a failed write does not refuse the request.
    t.usedAt = now;
    await prepared(db, 'deckhand_touch_token', 'UPDATE api_tokens SET last_used_at = now() WHERE id = $1', [
      parts.id,
    ]).catch(() => {});
  }
  return t.user;
}
