import type { Db } from '../../db/client.ts';
import { prepared } from '../../db/prepared.ts';
import { apiTokens } from '../../db/schema.ts';
import { hashSecret, randomString, secretMatches, splitToken } from './secrets.ts';
import type { SessionUser } from './sessions.ts';

const PREFIX = 'dh_';

/** Creates an API token and returns it; it is shown once and stored only as a hash. */
export async function createApiToken(db: Db, userId: string, expiresAt: Date | null): Promise<string> {
  const id = randomString();
  const secret = randomString(20);
  await db.insert(apiTokens).values({ id, userId, secretHash: hashSecret(secret), expiresAt });
  return `${PREFIX}${id}.${secret}`;
}

export async function validateApiToken(db: Db, token: string): Promise<SessionUser | null> {
  if (!token.startsWith(PREFIX)) return null;
  const parts = splitToken(token.slice(PREFIX.length));
  if (!parts) return null;
  // Every API call runs this, so it is a prepared statement rather than a built query.
  const [row] = await prepared<{
    secret_hash: Buffer;
    expired: boolean;
    id: string;
    username: string;
    role: SessionUser['role'];
  }>(
    db,
    'deckhand_validate_token',
    `SELECT t.secret_hash, coalesce(t.expires_at < now(), false) AS expired, u.id, u.username, u.role
     FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1`,
    [parts.id],
  );
  if (!row || !secretMatches(parts.secret, row.secret_hash) || row.expired) return null;
  return { id: row.id, username: row.username, role: row.role };
}
