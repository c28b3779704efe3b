import { Hono } from 'hono';
import { listUsers } from '../../db/users.ts';
import { NewToken, TokensPage } from '../../views/tokens.tsx';
import { UsersPage } from '../../views/users.tsx';
import type { AppEnv } from '../context.ts';
import { pageOf } from '../context.ts';
import { parseOr400 } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import { mintToken, newTokenBody, revokeVisibleToken, toApiToken, visibleTokens } from './tokens.ts';
import { addUser, newUserBody, patchUser, toApiUser, userChangeBody } from './users.ts';

/** Form fields as strings, without the CSRF field and empty inputs. */
async function formFields(req: { parseBody(): Promise<Record<string, unknown>> }): Promise<Record<string, string>> {
  const form = await req.parseBody();
  return Object.fromEntries(
    Object.entries(form).filter(([k, v]) => k !== '_csrf' && typeof v === 'string' && v !== ''),
  ) as Record<string, string>;
}

const asBool = (v: string | undefined) => (v === undefined ? undefined : v === 'true');

export const accountPages = new Hono<AppEnv>()
  .get('/users', requireRole('admin'), async (c) => {
    const users = (await listUsers(c.var.deps.db)).map(toApiUser);
    return c.html(<UsersPage {...pageOf(c)} users={users} />);
  })
  .post('/ui/users', requireRole('admin'), async (c) => {
    const f = await formFields(c.req);
    const body = { ...f, mustChangePassword: asBool(f.mustChangePassword) ?? false };
    await addUser(c, parseOr400(newUserBody, body, 'user'));
    c.header('HX-Refresh', 'true');
    return c.body(null, 204);
  })
  .post('/ui/users/:name', requireRole('admin'), async (c) => {
    const f = await formFields(c.req);
    const body = { ...f, ...(f.disabled !== undefined && { disabled: asBool(f.disabled) }) };
    await patchUser(c, c.req.param('name'), parseOr400(userChangeBody, body, 'user change'));
    c.header('HX-Refresh', 'true');
    return c.body(null, 204);
  })
  .get('/tokens', requireRole('viewer'), async (c) => {
    const tokens = (await visibleTokens(c)).map(toApiToken);
    return c.html(<TokensPage {...pageOf(c)} tokens={tokens} />);
  })
  .post('/ui/tokens', requireRole('viewer'), async (c) => {
    const f = await formFields(c.req);
    const body = { ...f, ...(f.expiresInDays !== undefined && { expiresInDays: Number(f.expiresInDays) }) };
    const t = await mintToken(c, parseOr400(newTokenBody, body, 'token'));
    return c.html(<NewToken token={t.token} user={t.user} expiresAt={t.expiresAt} />, 201);
  })
  .post('/ui/tokens/:id/revoke', requireRole('viewer'), async (c) => {
    await revokeVisibleToken(c, c.req.param('id'));
    c.header('HX-Refresh', 'true');
    return c.body(null, 204);
  });
