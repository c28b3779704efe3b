import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { users } from './schema.ts';

export type Role = 'viewer' | 'operator' | 'admin';
export const roles: readonly Role[] = ['viewer', 'operator', 'admin'];

export const roleAtLeast = (have: string, need: Role): boolean => roles.indexOf(have as Role) >= roles.indexOf(need);

/** A username as every entry point accepts it. */
export const USERNAME = /^[a-zA-Z0-9_.-]{1,64}$/;

export type UserRow = typeof users.$inferSelect;

/** What may be shown about a user: never the password hash. */
export interface UserSummary {
  id: string;
  username: string;
  role: Role;
  disabled: boolean;
  mustChangePassword: boolean;
  createdAt: Date;
}

const summary = {
  id: users.id,
  username: users.username,
  role: users.role,
  disabled: users.disabled,
  mustChangePassword: users.mustChangePassword,
  createdAt: users.createdAt,
};

export async function findUser(db: Db, username: string): Promise<UserRow | null> {
  const [u] = await db.select().from(users).where(eq(users.username, username));
  return u ?? null;
}

export async function findUserById(db: Db, id: string): Promise<UserRow | null> {
  const [u] = await db.select().from(users).where(eq(users.id, id));
  return u ?? null;
}

export const listUsers = (db: Db): Promise<UserSummary[]> =>
  db.select(summary).from(users).orderBy(asc(users.username));

/** Stores a user whose password the caller has already hashed (server/auth/passwords.ts). */
export async function insertUser(
  db: Pick<Db, 'insert'>,
  u: { username: string; role: Role; passwordHash: string; mustChangePassword?: boolean },
): Promise<UserSummary | null> {
  const [row] = await db.insert(users).values(u).onConflictDoNothing().returning(summary);
  return row ?? null;
}

export interface UserChange {
  role?: Role;
  disabled?: boolean;
  passwordHash?: string;
  mustChangePassword?: boolean;
}

/** Serializes changes that could remove an admin: two concurrent demotions must not both see the other. */
const ADMINS_LOCK = 0x6465636b; // "deck"

/**
 * Applies a change unless it would leave no enabled admin; returns the updated user, null when
 * there is no such user, or 'last_admin'. A demotion checks and updates under one transaction lock.
 */
export async function updateUser(
  db: Db,
  username: string,
  change: UserChange,
): Promise<UserSummary | null | 'last_admin'> {
  const demotes = (change.role !== undefined && change.role !== 'admin') || change.disabled === true;
  const keepsAnAdmin = sql`EXISTS (SELECT 1 FROM users o WHERE o.role = 'admin' AND NOT o.disabled AND o.username <> ${username})`;
  const guard = demotes ? sql`(${users.role} <> 'admin' OR ${users.disabled} OR ${keepsAnAdmin})` : sql`true`;
  const row = await db.transaction(async (tx) => {
    if (demotes) await tx.execute(sql`SELECT pg_advisory_xact_lock(${ADMINS_LOCK})`);
    const [updated] = await tx
      .update(users)
      .set(change)
      .where(and(eq(users.username, username), guard))
      .returning(summary);
    return updated;
  });
  if (row) return row;
  return (await findUser(db, username)) ? 'last_admin' : null;
}

/** Whether any user exists (the initial admin is only made on an empty table). */
export async function anyUser(db: Db): Promise<boolean> {
  const [row] = await db.select({ id: users.id }).from(users).limit(1);
  return Boolean(row);
}
