import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { audit } from '../../db/audit.ts';
import { findUser } from '../../db/users.ts';
import { LoginPage } from '../../views/login.tsx';
import { burnPasswordCheck, verifyPassword } from '../auth/passwords.ts';
import { createSession, invalidateSession } from '../auth/sessions.ts';
import { clearLoginFailures, loginRetryAfter, recordLoginFailure } from '../auth/throttle.ts';
import type { AppEnv } from '../context.ts';
import { SESSION_COOKIE } from '../middleware.ts';

const loginForm = z.object({
  username: z.string().trim().min(1).max(100),
  password: z.string().min(1).max(1000),
});

function clientIp(c: Context<AppEnv>): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // app.request() in tests has no socket
  }
}

function secureCookies(c: Context<AppEnv>): boolean {
  const mode = c.var.deps.config.DECKHAND_SECURE_COOKIES;
  if (mode !== 'auto') return mode === 'always';
  return new URL(c.req.url).protocol === 'https:' || c.req.header('X-Forwarded-Proto') === 'https';
}

export const authRoutes = new Hono<AppEnv>()
  .get('/login', (c) => (c.var.user ? c.redirect('/') : c.html(<LoginPage />)))
  .post('/login', async (c) => {
    const { db, config } = c.var.deps;
    const parsed = loginForm.safeParse(await c.req.parseBody());
    if (!parsed.success) return c.html(<LoginPage error="Enter a username and a password." />, 400);
    const { username, password } = parsed.data;
    const ip = clientIp(c);
    const wait = await loginRetryAfter(db, username, ip);
    if (wait > 0) {
      c.header('Retry-After', String(wait));
      const minutes = Math.ceil(wait / 60);
      return c.html(
        <LoginPage username={username} error={`Too many failed sign-ins. Try again in ${minutes} min.`} />,
        429,
      );
    }
    const user = await findUser(db, username);
    if (!user) await burnPasswordCheck(password);
    if (!user || !(await verifyPassword(user.passwordHash, password))) {
      await recordLoginFailure(db, username, ip);
      await audit(db, { id: null, name: username }, 'auth.login_failed', username, { ip });
      return c.html(<LoginPage username={username} error="Wrong username or password." />, 401);
    }
    // A fresh session id on every login: a planted cookie never becomes authenticated.
    if (c.var.sessionId) await invalidateSession(db, c.var.sessionId);
    const session = await createSession(db, user.id);
    await clearLoginFailures(db, username);
    await audit(db, { id: user.id, name: user.username }, 'auth.login', user.username, { ip });
    setCookie(c, SESSION_COOKIE, session.token, {
      httpOnly: true,
      sameSite: 'Lax',
      secure: secureCookies(c),
      path: '/',
      maxAge: Math.floor(config.DECKHAND_SESSION_MAX_DAYS * 86_400),
    });
    return c.redirect('/', 303);
  })
  .post('/logout', async (c) => {
    const { db } = c.var.deps;
    if (c.var.sessionId && c.var.user) {
      await invalidateSession(db, c.var.sessionId);
      await audit(db, { id: c.var.user.id, name: c.var.user.username }, 'auth.logout', c.var.user.username);
    }
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    c.header('HX-Redirect', '/login');
    return c.redirect('/login', 303);
  });
