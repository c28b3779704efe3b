import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { apiTokens, users } from '../../db/schema.ts';
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
  const [row] = await db
    .select({ t: apiTokens, u: { id: users.id, username: users.username, role: users.role } })
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(eq(apiTokens.id, parts.id));
  if (!row || !secretMatches(parts.secret, row.t.secretHash)) return null;
  if (row.t.expiresAt && row.t.expiresAt.getTime() < Date.now()) return null;
  return row.u;
}
