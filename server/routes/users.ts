import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { audit } from '../../db/audit.ts';
import { listUsers, roles, USERNAME, type UserSummary } from '../../db/users.ts';
import {
  type AccountChange,
  changeAccount,
  createUser,
  LastAdminError,
  NoSuchUserError,
  newPassword,
  UserExistsError,
} from '../auth/accounts.ts';
import { beginSession } from '../auth/cookies.ts';
import type { AppEnv } from '../context.ts';
import { conflict, jsonBody, notFound, parseOr400 } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import { apiDoc } from '../openapi/describe.ts';

const role = z.enum(roles as [string, ...string[]]).transform((r) => r as (typeof roles)[number]);
export const newUserBody = z.strictObject({
  username: z.string().regex(USERNAME, 'a username is 1-64 letters, digits, ".", "_" or "-"'),
  role,
  password: newPassword,
  mustChangePassword: z.boolean().optional(),
});
export const userChangeBody = z
  .strictObject({ role: role.optional(), disabled: z.boolean().optional(), password: newPassword.optional() })
  .refine((b) => Object.keys(b).length > 0, 'give role, disabled or password');

export const toApiUser = (u: UserSummary) => ({
  username: u.username,
  role: u.role,
  disabled: u.disabled,
  mustChangePassword: u.mustChangePassword,
  createdAt: u.createdAt.toISOString(),
});

/** The account errors as HTTP answers. */
export function accountHttpError(err: unknown): unknown {
  if (err instanceof NoSuchUserError) return notFound('user');
  if (err instanceof UserExistsError || err instanceof LastAdminError) return conflict(err.message);
  return err;
}

export async function addUser(c: Context<AppEnv>, body: z.infer<typeof newUserBody>) {
  const { db } = c.var.deps;
  const actor = { id: c.var.user!.id, name: c.var.user!.username };
  const { username, role: r, password, mustChangePassword } = body;
  const u = await createUser(db, username, r, password, { mustChangePassword: mustChangePassword ?? false }).catch(
    (err) => {
      throw accountHttpError(err);
    },
  );
  await audit(db, actor, 'user.create', u.username, { role: u.role });
  return u;
}

/** PATCH semantics for the API and the users page; the caller's own changed session gets a new id. */
export async function patchUser(c: Context<AppEnv>, username: string, change: AccountChange) {
  const me = c.var.user!;
  const r = await changeAccount(
    c.var.deps.db,
    { id: me.id, name: me.username },
    username,
    change,
    c.var.sessionId,
  ).catch((err) => {
    throw accountHttpError(err);
  });
  if (r.rotate && r.user.id === me.id && c.var.via === 'session') await beginSession(c, me.id);
  await c.var.deps.auth?.settle(); // every web process now refuses what this change ended
  return r;
}

const tag = 'users';

export const usersApi = new Hono<AppEnv>()
  .get(
    '/',
    apiDoc({ tag, summary: 'List users', role: 'admin', ok: { status: 200, description: '`{items:[User]}`' } }),
    requireRole('admin'),
    async (c) => c.json({ items: (await listUsers(c.var.deps.db)).map(toApiUser) }),
  )
  .post(
    '/',
    apiDoc({
      tag,
      summary: 'Create a user',
      role: 'admin',
      body: {
        schema: newUserBody,
        examples: {
          operator: {
            username: 'alice',
            role: 'operator',
            password: 'a long passphrase of hers',
            mustChangePassword: true,
          },
        },
      },
      ok: { status: 201, description: 'The user' },
      errors: [409],
    }),
    requireRole('admin'),
    async (c) => {
      const u = await addUser(c, parseOr400(newUserBody, await jsonBody(c.req), 'user'));
      return c.json(toApiUser(u), 201);
    },
  )
  .patch(
    '/:name',
    apiDoc({
      tag,
      summary: "Change a user's role, password or disabled flag",
      description:
        "A new role or password ends the user's other sessions; disabling ends them all. The last enabled admin cannot be demoted or disabled.",
      role: 'admin',
      params: { name: { example: 'alice' } },
      body: { schema: userChangeBody, examples: { promote: { role: 'admin' }, disable: { disabled: true } } },
      ok: { status: 200, description: 'The user and `sessionsEnded`' },
      errors: [404, 409],
    }),
    requireRole('admin'),
    async (c) => {
      const change = parseOr400(userChangeBody, await jsonBody(c.req), 'user change');
      const r = await patchUser(c, c.req.param('name'), change);
      return c.json({ ...toApiUser(r.user), sessionsEnded: r.sessionsEnded });
    },
  );
