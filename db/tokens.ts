import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { apiTokens, users } from './schema.ts';

/** What may be shown about a token: never its secret or hash. */
export interface TokenSummary {
  id: string;
  username: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const summary = {
  id: apiTokens.id,
  username: users.username,
  userId: apiTokens.userId,
  createdAt: apiTokens.createdAt,
  expiresAt: apiTokens.expiresAt,
  lastUsedAt: apiTokens.lastUsedAt,
  revokedAt: apiTokens.revokedAt,
};

/** Tokens newest first, every user's or one user's. */
export async function listTokens(db: Db, userId?: string): Promise<TokenSummary[]> {
  const rows = await db
    .select(summary)
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(userId ? eq(apiTokens.userId, userId) : undefined)
    .orderBy(desc(apiTokens.createdAt), apiTokens.id);
  return rows.map(({ userId: _, ...t }) => t);
}

export async function findToken(db: Db, id: string) {
  const [row] = await db
    .select(summary)
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(eq(apiTokens.id, id));
  return row ?? null;
}

/** Revokes a token once; false when it was already revoked. */
export async function revokeToken(db: Db, id: string): Promise<boolean> {
  const done = await db
    .update(apiTokens)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id });
  return done.length > 0;
}
