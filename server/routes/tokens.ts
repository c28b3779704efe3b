import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { audit } from '../../db/audit.ts';
import { findToken, listTokens, revokeToken, type TokenSummary } from '../../db/tokens.ts';
import { findUser, USERNAME } from '../../db/users.ts';
import { DEFAULT_TOKEN_DAYS, issueApiToken } from '../auth/tokens.ts';
import type { AppEnv } from '../context.ts';
import { badRequest, forbidden, HttpError, jsonBody, notFound, parseOr400 } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import { apiDoc } from '../openapi/describe.ts';

export const newTokenBody = z.strictObject({
  user: z.string().regex(USERNAME, 'not a username').optional(),
  expiresInDays: z.number().int().min(1).max(365).optional(),
});
const tokenId = /^[a-z2-7]{1,64}$/;
const listQuery = z.strictObject({ user: z.string().regex(USERNAME, 'not a username').optional() });

export const toApiToken = (t: TokenSummary) => ({
  id: t.id,
  user: t.username,
  createdAt: t.createdAt.toISOString(),
  expiresAt: t.expiresAt?.toISOString() ?? null,
  lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
  revokedAt: t.revokedAt?.toISOString() ?? null,
});

const isAdmin = (c: Context<AppEnv>) => c.var.user!.role === 'admin';
const actorOf = (c: Context<AppEnv>) => ({ id: c.var.user!.id, name: c.var.user!.username });

/** Admins see every token (or one user's); everyone else sees their own. */
export async function visibleTokens(c: Context<AppEnv>, username?: string) {
  const { db } = c.var.deps;
  if (!isAdmin(c)) return listTokens(db, c.var.user!.id);
  if (!username) return listTokens(db);
  const u = await findUser(db, username);
  return u ? listTokens(db, u.id) : [];
}

/** Creates a token for the caller, or (admins) for anyone; the token is in the answer only. */
export async function mintToken(c: Context<AppEnv>, body: z.infer<typeof newTokenBody>) {
  const { db } = c.var.deps;
  const me = c.var.user!;
  // A leaked token that could mint successors would outlive its own revocation.
  if (c.var.via !== 'session')
    throw new HttpError(
      403,
      'session_required',
      'tokens are made from a signed-in session, or on the host with deckhand token create',
    );
  const username = body.user ?? me.username;
  if (username !== me.username && !isAdmin(c)) throw forbidden('only admins make tokens for other users');
  const owner = await findUser(db, username);
  if (!owner) throw badRequest('invalid token', { fieldErrors: { user: ['no such user'] } });
  const days = body.expiresInDays ?? DEFAULT_TOKEN_DAYS;
  const t = await issueApiToken(db, owner.id, new Date(Date.now() + days * 86_400_000));
  await audit(db, actorOf(c), 'token.create', owner.username, { id: t.id, expiresAt: t.expiresAt?.toISOString() });
  return { id: t.id, user: owner.username, token: t.token, expiresAt: t.expiresAt?.toISOString() ?? null };
}

/** Revokes the caller's own token, or (admins) anyone's; someone else's is as unknown as a missing one. */
export async function revokeVisibleToken(c: Context<AppEnv>, id: string) {
  const { db } = c.var.deps;
  if (!tokenId.test(id)) throw badRequest('invalid token id', { fieldErrors: { id: ['not a token id'] } });
  const t = await findToken(db, id);
  if (!t || (t.userId !== c.var.user!.id && !isAdmin(c))) throw notFound('token');
  if (await revokeToken(db, id)) await audit(db, actorOf(c), 'token.revoke', t.username, { id });
  await c.var.deps.auth?.settle(); // every web process now refuses it
}

const tag = 'tokens';

export const tokensApi = new Hono<AppEnv>()
  .get(
    '/',
    apiDoc({
      tag,
      summary: "List tokens (yours; admins: everyone's, or one user's)",
      role: 'viewer',
      query: listQuery,
      ok: { status: 200, description: '`{items:[Token]}`' },
    }),
    requireRole('viewer'),
    async (c) => {
      const q = parseOr400(listQuery, c.req.query(), 'query');
      return c.json({ items: (await visibleTokens(c, q.user)).map(toApiToken) });
    },
  )
  .post(
    '/',
    apiDoc({
      tag,
      summary: 'Create a token (shown once)',
      description: 'From a signed-in session only: a token cannot mint tokens. Admins may make one for another user.',
      role: 'viewer',
      body: { schema: newTokenBody, examples: { mine: { expiresInDays: 30 } } },
      ok: { status: 201, description: '`{id, user, token, expiresAt}`' },
    }),
    requireRole('viewer'),
    async (c) => c.json(await mintToken(c, parseOr400(newTokenBody, await jsonBody(c.req), 'token')), 201),
  )
  .delete(
    '/:id',
    apiDoc({
      tag,
      summary: 'Revoke a token',
      role: 'viewer',
      params: { id: { example: 'abcdefgh234567' } },
      ok: { status: 204, description: 'Revoked' },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => {
      await revokeVisibleToken(c, c.req.param('id'));
      return c.body(null, 204);
    },
  );
