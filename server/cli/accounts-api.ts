import type { toApiToken } from '../routes/tokens.ts';
import type { toApiUser } from '../routes/users.ts';
import type { ApiClient } from './client.ts';
import { CliError } from './errors.ts';
import { emit, type OutputOptions, table } from './output.ts';
import { readStdin } from './stdin.ts';

/** `deckhand users|tokens …` over the API: what the Users and Tokens pages do, from a laptop. */

type ApiUser = ReturnType<typeof toApiUser>;
type ApiToken = ReturnType<typeof toApiToken>;

export interface AccountOptions extends OutputOptions {
  role?: string | undefined;
  'password-stdin'?: boolean | undefined;
  user?: string | undefined;
}

const usersUsage =
  'usage: deckhand users [add NAME --role ROLE --password-stdin | passwd NAME --password-stdin | role NAME ROLE | disable NAME | enable NAME]';

const formatUser = (u: ApiUser) => `${u.username}: ${u.role}, ${u.disabled ? 'disabled' : 'enabled'}`;

async function password(o: AccountOptions): Promise<string> {
  if (!o['password-stdin']) throw new CliError('pass the password on standard input with --password-stdin', 2);
  return readStdin();
}

async function userChange(action: string, rest: string[], o: AccountOptions): Promise<Record<string, unknown>> {
  if (action === 'passwd') return { password: await password(o) };
  if (action === 'role' && rest[0]) return { role: rest[0] };
  if (action === 'disable' || action === 'enable') return { disabled: action === 'disable' };
  throw new CliError(usersUsage, 2);
}

export async function usersCommand(api: ApiClient, [action, name, ...rest]: string[], o: AccountOptions) {
  if (!action) {
    const list = await api.call<{ items: ApiUser[] }>('GET', '/api/users');
    const rows = list.items.map((u) => [u.username, u.role, u.disabled ? 'disabled' : 'enabled', u.createdAt]);
    emit(o, list, () => table([['USER', 'ROLE', 'STATE', 'CREATED'], ...rows]));
    return 0;
  }
  if (!name) throw new CliError(usersUsage, 2);
  if (action === 'add') {
    if (!o.role) throw new CliError('users add needs --role viewer|operator|admin', 2);
    const body = { username: name, role: o.role, password: await password(o) };
    const u = await api.call<ApiUser>('POST', '/api/users', body);
    emit(o, u, `created ${formatUser(u)}`);
    return 0;
  }
  const change = await userChange(action, rest, o);
  const u = await api.call<ApiUser & { sessionsEnded: number }>(
    'PATCH',
    `/api/users/${encodeURIComponent(name)}`,
    change,
  );
  emit(o, u, `${formatUser(u)}; ${u.sessionsEnded} session(s) ended`);
  return 0;
}

const when = (iso: string | null, none: string) => (iso ? iso.replace('T', ' ').slice(0, 16) : none);

export async function tokensCommand(api: ApiClient, [action, id]: string[], o: AccountOptions) {
  if (!action) {
    const q = o.user ? `?user=${encodeURIComponent(o.user)}` : '';
    const list = await api.call<{ items: ApiToken[] }>('GET', `/api/tokens${q}`);
    const now = Date.now();
    const state = (t: ApiToken) =>
      t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) <= now ? 'expired' : 'active';
    const rows = list.items.map((t) => [
      t.id,
      t.user,
      when(t.createdAt, ''),
      when(t.expiresAt, 'never'),
      when(t.lastUsedAt, 'never'),
      state(t),
    ]);
    emit(o, list, () => table([['ID', 'USER', 'CREATED', 'EXPIRES', 'LAST USED', 'STATE'], ...rows]));
    return 0;
  }
  if (action !== 'revoke' || !id) {
    throw new CliError('usage: deckhand tokens [--user NAME] | tokens revoke ID (new tokens: the Tokens page)', 2);
  }
  await api.call('DELETE', `/api/tokens/${encodeURIComponent(id)}`);
  emit(o, { id, revoked: true }, `revoked token ${id}`);
  return 0;
}
