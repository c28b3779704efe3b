import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { hashPassword } from '../server/auth/passwords.ts';
import type { Db } from './client.ts';
import { users } from './schema.ts';

export type Role = 'viewer' | 'operator' | 'admin';
export const roles: readonly Role[] = ['viewer', 'operator', 'admin'];

export const roleAtLeast = (have: string, need: Role): boolean => roles.indexOf(have as Role) >= roles.indexOf(need);

export async function findUser(db: Db, username: string) {
  const [u] = await db.select().from(users).where(eq(users.username, username));
  return u ?? null;
}

export async function createUser(db: Db, username: string, role: Role, password: string) {
  const [u] = await db
    .insert(users)
    .values({ username, role, passwordHash: await hashPassword(password) })
    .returning({ id: users.id, username: users.username, role: users.role });
  if (!u) throw new Error('insert returned no row');
  return u;
}

/**
 * On first start, creates `admin` with a one-time password, written to
 * `<dataDir>/initial-admin-password` (0600). Returns the password, or null when
 * any user already exists.
 */
export async function ensureInitialAdmin(db: Db, dataDir: string): Promise<string | null> {
  const [any] = await db.select({ id: users.id }).from(users).limit(1);
  if (any) return null;
  const password = randomBytes(15).toString('base64url');
  const inserted = await db
    .insert(users)
    .values({ username: 'admin', role: 'admin', passwordHash: await hashPassword(password) })
    .onConflictDoNothing()
    .returning({ id: users.id });
  if (inserted.length === 0) return null; // another process won the race
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'initial-admin-password');
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return password;
}
