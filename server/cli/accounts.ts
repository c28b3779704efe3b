import os from 'node:os';
import type { Config } from '../../config.ts';
import { audit } from '../../db/audit.ts';
import { findToken, listTokens, revokeToken } from '../../db/tokens.ts';
import { findUser, type Role, roles, USERNAME } from '../../db/users.ts';
import {
  type AccountChange,
  changeAccount,
  createUser,
  LastAdminError,
  NoSuchUserError,
  UserExistsError,
} from '../auth/accounts.ts';
import { DEFAULT_TOKEN_DAYS, issueApiToken } from '../auth/tokens.ts';
import { toApiToken } from '../routes/tokens.ts';
import { CliError } from './errors.ts';
import { withDatabase } from './host.ts';
import { table } from './output.ts';

/** Host-side user and token commands: straight against the database, acting as the OS user. */

/** What a host-side command prints: a sentence or table, or with --json the data (in the API's shapes). */
export interface HostResult {
  text: string;
  data: unknown;
}

const cliActor = () => ({ id: null, name: `cli:${os.userInfo().username}` });

function checkName(name: string): void {
  if (!USERNAME.test(name)) throw new CliError('a username is 1-64 letters, digits, ".", "_" or "-"');
}
function checkRole(role: string): asserts role is Role {
  if (!roles.includes(role as Role)) throw new CliError(`--role must be one of: ${roles.join(', ')}`);
}
function checkPassword(password: string): void {
  if (password.length < 12) throw new CliError('the password must have at least 12 characters');
  if (password.length > 1000) throw new CliError('the password must have at most 1000 characters');
}

const asCliError = (err: unknown): never => {
  const known = err instanceof UserExistsError || err instanceof NoSuchUserError || err instanceof LastAdminError;
  throw known ? new CliError(err.message) : err;
};

const apiUser = (u: { username: string; role: string; disabled: boolean }) => ({
  username: u.username,
  role: u.role,
  disabled: u.disabled,
});

export async function userAdd(config: Config, name: string, role: string, password: string): Promise<HostResult> {
  checkName(name);
  checkRole(role);
  checkPassword(password);
  return withDatabase(config, async ({ db }) => {
    const u = await createUser(db, name, role, password).catch(asCliError);
    await audit(db, cliActor(), 'user.create', u.username, { role: u.role });
    return { text: `created ${u.username} (${u.role})`, data: apiUser(u) };
  });
}

/** `user passwd|role|disable|enable`: one change, audited, ending sessions as the API does. */
export async function userChange(config: Config, name: string, change: AccountChange): Promise<HostResult> {
  checkName(name);
  if (change.role !== undefined) checkRole(change.role);
  if (change.password !== undefined) checkPassword(change.password);
  return withDatabase(config, async ({ db }) => {
    const r = await changeAccount(db, cliActor(), name, change, null).catch(asCliError);
    const state = r.user.disabled ? 'disabled' : 'enabled';
    const text = `${r.user.username}: ${r.user.role}, ${state}; ${r.sessionsEnded} session(s) ended`;
    return { text, data: { ...apiUser(r.user), sessionsEnded: r.sessionsEnded } };
  });
}

/** `30d`, `12h`, `90m` → a date in the future. */
export function parseExpiry(text: string): Date {
  const m = /^(\d{1,5})([dhm])$/.exec(text);
  if (!m || Number(m[1]) === 0) throw new CliError('--expires takes a number and a unit: 30d, 12h or 90m');
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
  return new Date(Date.now() + Number(m[1]) * unit);
}

export async function tokenCreate(config: Config, name: string, expires: string | undefined): Promise<HostResult> {
  const expiresAt = parseExpiry(expires ?? `${DEFAULT_TOKEN_DAYS}d`);
  return withDatabase(config, async ({ db }) => {
    const user = await findUser(db, name);
    if (!user) throw new CliError(`no user named ${name}`);
    const t = await issueApiToken(db, user.id, expiresAt);
    await audit(db, cliActor(), 'token.create', user.username, { id: t.id, expiresAt: expiresAt.toISOString() });
    const data = { id: t.id, user: user.username, token: t.token, expiresAt: expiresAt.toISOString() };
    return { text: t.token, data };
  });
}

const day = (d: Date | null, none: string) => (d ? d.toISOString().replace('T', ' ').slice(0, 16) : none);

export async function tokenList(config: Config, name: string | undefined): Promise<HostResult> {
  return withDatabase(config, async ({ db }) => {
    let userId: string | undefined;
    if (name) {
      const user = await findUser(db, name);
      if (!user) throw new CliError(`no user named ${name}`);
      userId = user.id;
    }
    const now = Date.now();
    const tokens = await listTokens(db, userId);
    const rows = tokens.map((t) => {
      const state = t.revokedAt ? 'revoked' : t.expiresAt && t.expiresAt.getTime() <= now ? 'expired' : 'active';
      return [t.id, t.username, day(t.createdAt, ''), day(t.expiresAt, 'never'), day(t.lastUsedAt, 'never'), state];
    });
    const text = table([['ID', 'USER', 'CREATED', 'EXPIRES', 'LAST USED', 'STATE'], ...rows]);
    return { text, data: { items: tokens.map(toApiToken) } };
  });
}

export async function tokenRevoke(config: Config, id: string): Promise<HostResult> {
  if (!/^[a-z2-7]{1,64}$/.test(id)) throw new CliError('a token id is what `deckhand token list` shows');
  return withDatabase(config, async ({ db }) => {
    const t = await findToken(db, id);
    if (!t) throw new CliError(`no token ${id}`);
    const data = { id, user: t.username, revoked: true };
    if (!(await revokeToken(db, id))) return { text: `token ${id} was already revoked`, data };
    await audit(db, cliActor(), 'token.revoke', t.username, { id });
    return { text: `revoked token ${id} of ${t.username}`, data };
  });
}
