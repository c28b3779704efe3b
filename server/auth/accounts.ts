import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { type Actor, audit } from '../../db/audit.ts';
import type { Db } from '../../db/client.ts';
import {
  anyUser,
  findUser,
  insertUser,
  type Role,
  type UserChange,
  type UserSummary,
  updateUser,
} from '../../db/users.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { invalidateUserSessions } from './sessions.ts';
import { claimPasswordChangeAttempt, releasePasswordChangeAttempt } from './throttle.ts';

/** Users, as the API, the pages and the host-side CLI change them: hashing here, storing in db/. */

export class UserExistsError extends Error {
  override name = 'UserExistsError';
}
export class NoSuchUserError extends Error {
  override name = 'NoSuchUserError';
}
export class LastAdminError extends Error {
  override name = 'LastAdminError';
}
export class WrongPasswordError extends Error {
  override name = 'WrongPasswordError';
}
export class TooManyAttemptsError extends Error {
  override name = 'TooManyAttemptsError';
  constructor(readonly retryAfter: number) {
    super(`too many wrong passwords; try again in ${retryAfter} s`);
  }
}

export const newPassword = z.string().min(12, 'use at least 12 characters').max(1000);

export async function createUser(
  db: Db,
  username: string,
  role: Role,
  password: string,
  opts: { mustChangePassword?: boolean } = {},
): Promise<UserSummary> {
  const row = await insertUser(db, { username, role, passwordHash: await hashPassword(password), ...opts });
  if (!row) throw new UserExistsError(`user ${username} already exists`);
  return row;
}

/**
 * On first start, creates `admin` with a one-time password, written to
 * `<dataDir>/initial-admin-password` (0600), that must be changed at first sign-in.
 * Returns the password, or null when any user already exists.
 */
export async function ensureInitialAdmin(db: Db, dataDir: string): Promise<string | null> {
  if (await anyUser(db)) return null;
  const password = randomBytes(15).toString('base64url');
  const passwordHash = await hashPassword(password);
  const row = await insertUser(db, { username: 'admin', role: 'admin', passwordHash, mustChangePassword: true });
  if (!row) return null; // another process won the race
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'initial-admin-password');
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return password;
}

export interface AccountChange {
  role?: Role | undefined;
  disabled?: boolean | undefined;
  password?: string | undefined;
}

/**
 * Changes a user's role, disabled flag or password, audited (never the password). A new role or
 * password ends the user's other sessions (`keepSession` is the caller's own, which the caller
 * rotates); disabling ends them all. The last enabled admin cannot be demoted or disabled.
 */
export async function changeAccount(
  db: Db,
  actor: Actor,
  username: string,
  change: AccountChange,
  keepSession: string | null,
): Promise<{ user: UserSummary; sessionsEnded: number; rotate: boolean }> {
  const before = await findUser(db, username);
  if (!before) throw new NoSuchUserError(`no user named ${username}`);
  const update: UserChange = {};
  if (change.role !== undefined) update.role = change.role;
  if (change.disabled !== undefined) update.disabled = change.disabled;
  if (change.password !== undefined) {
    update.passwordHash = await hashPassword(change.password);
    update.mustChangePassword = false;
  }
  const user = await updateUser(db, username, update);
  if (user === null) throw new NoSuchUserError(`no user named ${username}`);
  if (user === 'last_admin') throw new LastAdminError('this would leave Deckhand without an enabled admin');
  const rotate = (change.role !== undefined && change.role !== before.role) || change.password !== undefined;
  const sessionsEnded = user.disabled
    ? await invalidateUserSessions(db, user.id)
    : rotate
      ? await invalidateUserSessions(db, user.id, keepSession)
      : 0;
  await audit(db, actor, 'user.update', username, {
    ...(change.role !== undefined && { role: change.role, previousRole: before.role }),
    ...(change.disabled !== undefined && { disabled: change.disabled }),
    ...(change.password !== undefined && { password: 'changed' }),
    sessionsEnded,
  });
  return { user, sessionsEnded, rotate: rotate && !user.disabled };
}

/** A user changes their own password, proving the current one; their other sessions end. */
export async function changeOwnPassword(
  db: Db,
  username: string,
  current: string,
  next: string,
  keepSession: string | null,
): Promise<UserSummary> {
  const user = await findUser(db, username);
  if (!user) throw new NoSuchUserError(`no user named ${username}`);
  const claim = await claimPasswordChangeAttempt(db, user.id);
  if (!claim.ok) throw new TooManyAttemptsError(claim.retryAfter);
  if (!(await verifyPassword(user.passwordHash, current)))
    throw new WrongPasswordError('the current password is wrong');
  await releasePasswordChangeAttempt(db, user.id);
  if (current === next) throw new WrongPasswordError('choose a password different from the current one');
  const actor = { id: user.id, name: user.username };
  return (await changeAccount(db, actor, username, { password: next }, keepSession)).user;
}
