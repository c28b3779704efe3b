import type { Db } from '../../db/client.ts';
import { prepared } from '../../db/prepared.ts';
import { apiTokens } from '../../db/schema.ts';
import { hashSecret, randomString, secretMatches, splitToken } from './secrets.ts';
import type { SessionUser } from './sessions.ts';

const PREFIX = 'dh_';

/** A token given no expiry gets this one (DESIGN §3). */
export const DEFAULT_TOKEN_DAYS = 90;
export const defaultTokenExpiry = (): Date => new Date(Date.now() + DEFAULT_TOKEN_DAYS * 86_400_000);

/** Recording every use would write on every API call; once a minute per token is enough. */
const TOUCH_EVERY_SECS = 60;

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

/** The caller of a valid token: not expired, not revoked, its user not disabled. */
export async function validateApiToken(db: Db, token: string): Promise<SessionUser | null> {
  if (!token.startsWith(PREFIX)) return null;
  const parts = splitToken(token.slice(PREFIX.length));
  if (!parts) return null;
  // Every API call runs this, so it is a prepared statement rather than a built query.
  const [row] = await prepared<{
    secret_hash: Buffer;
    usable: boolean;
    stale: boolean;
    id: string;
    username: string;
    role: SessionUser['role'];
  }>(
    db,
    'deckhand_validate_token_v2',
    `SELECT t.secret_hash, u.id, u.username, u.role,
            (t.revoked_at IS NULL AND NOT u.disabled AND coalesce(t.expires_at > now(), true)) AS usable,
            coalesce(t.last_used_at < now() - make_interval(secs => ${TOUCH_EVERY_SECS}), true) AS stale
     FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1`,
    [parts.id],
  );
  if (!row || !secretMatches(parts.secret, row.secret_hash) || !row.usable) return null;
  if (row.stale) {
    await prepared(db, 'deckhand_touch_token', 'UPDATE api_tokens SET last_used_at = now() WHERE id = $1', [parts.id]);
  }
  return { id: row.id, username: row.username, role: row.role };
}
