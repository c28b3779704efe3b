import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { ChangePasswordPage } from '../../views/account.tsx';
import { changeOwnPassword, newPassword, TooManyAttemptsError, WrongPasswordError } from '../auth/accounts.ts';
import { beginSession } from '../auth/cookies.ts';
import { CHANGE_PASSWORD_PAGE } from '../auth/password-gate.ts';
import type { AppEnv } from '../context.ts';
import { pageOf } from '../context.ts';
import { badRequest, HttpError, jsonBody, parseOr400 } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import { apiDoc } from '../openapi/describe.ts';

const passwordChange = z.strictObject({ currentPassword: z.string().min(1).max(1000), newPassword });

/** Changes the caller's password; a session caller gets a fresh session id, their others end. */
async function changeMine(c: Context<AppEnv>, body: z.infer<typeof passwordChange>) {
  const user = c.var.user!;
  try {
    await changeOwnPassword(c.var.deps.db, user.username, body.currentPassword, body.newPassword, c.var.sessionId);
  } catch (err) {
    if (err instanceof WrongPasswordError)
      throw badRequest(err.message, { fieldErrors: { currentPassword: [err.message] } });
    if (err instanceof TooManyAttemptsError) {
      c.header('Retry-After', String(err.retryAfter));
      throw new HttpError(429, 'too_many_attempts', err.message);
    }
    throw err;
  }
  if (c.var.via === 'session') await beginSession(c, user.id);
  else await c.var.deps.auth?.settle(); // every web process now refuses the ended sessions
}

export const accountRoutes = new Hono<AppEnv>()
  .get(CHANGE_PASSWORD_PAGE, requireRole('viewer'), (c) => c.html(<ChangePasswordPage {...pageOf(c)} />))
  .post(CHANGE_PASSWORD_PAGE, requireRole('viewer'), async (c) => {
    const form = await c.req.parseBody();
    const page = (error: string, status: 400 | 429 = 400) =>
      c.html(<ChangePasswordPage {...pageOf(c)} error={error} />, status);
    const parsed = passwordChange.safeParse({
      currentPassword: form.currentPassword,
      newPassword: form.newPassword,
    });
    if (!parsed.success) return page('Enter your current password and a new one of at least 12 characters.');
    if (form.confirmPassword !== parsed.data.newPassword) return page('The two new passwords differ.');
    try {
      await changeMine(c, parsed.data);
    } catch (err) {
      if (err instanceof HttpError && (err.status === 400 || err.status === 429)) return page(err.message, err.status);
      throw err;
    }
    return c.redirect('/', 303);
  })
  .post(
    '/api/account/password',
    apiDoc({
      tag: 'users',
      summary: 'Change your own password',
      description: 'Your other sessions end; a session caller gets a new session id.',
      role: 'viewer',
      body: {
        schema: passwordChange,
        examples: {
          change: { currentPassword: 'correct horse battery staple', newPassword: 'a longer passphrase now' },
        },
      },
      ok: { status: 200, description: '`{changed: true}`' },
      errors: [429],
    }),
    requireRole('viewer'),
    async (c) => {
      await changeMine(c, parseOr400(passwordChange, await jsonBody(c.req), 'password change'));
      return c.json({ changed: true });
    },
  );
