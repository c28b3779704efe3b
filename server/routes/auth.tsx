import { Hono } from 'hono';
import { deleteCookie } from 'hono/cookie';
import { z } from 'zod';
import { audit } from '../../db/audit.ts';
import { LoginPage } from '../../views/login.tsx';
import { clientAddress } from '../auth/client-address.ts';
import { beginSession, deviceCookie, setDeviceCookie } from '../auth/cookies.ts';
import { attemptLogin } from '../auth/login.ts';
import { CHANGE_PASSWORD_PAGE } from '../auth/password-gate.ts';
import { invalidateSession } from '../auth/sessions.ts';
import { deleteSignedInCookie, SIGN_OUT_SENTENCES, signOutReasons } from '../auth/signed-out.ts';
import type { AppEnv } from '../context.ts';
import { SESSION_COOKIE } from '../middleware.ts';

const loginForm = z.object({
  username: z.string().trim().min(1).max(100),
  password: z.string().min(1).max(1000),
});

const waitText = (secs: number) => (secs < 90 ? `${secs} s` : `${Math.ceil(secs / 60)} min`);

export const authRoutes = new Hono<AppEnv>()
  .get('/login', (c) => {
    if (c.var.user) return c.redirect('/');
    // An unknown reason is just not shown: the link may come from an older or newer Deckhand.
    const reason = signOutReasons.find((r) => r === c.req.query('reason'));
    return c.html(<LoginPage notice={reason ? SIGN_OUT_SENTENCES[reason] : undefined} />);
  })
  .post('/login', async (c) => {
    const { db } = c.var.deps;
    const parsed = loginForm.safeParse(await c.req.parseBody());
    if (!parsed.success) return c.html(<LoginPage error="Enter a username and a password." />, 400);
    const { username, password } = parsed.data;
    const ip = clientAddress(c);
    const outcome = await attemptLogin(db, { username, password, ip, device: deviceCookie(c) });
    if (outcome.kind === 'delayed') {
      c.header('Retry-After', String(outcome.retryAfter));
      const error = `Too many failed sign-ins. Try again in ${waitText(outcome.retryAfter)}, or from a browser you signed in with before.`;
      return c.html(<LoginPage username={username} error={error} />, 429);
    }
    if (outcome.kind !== 'signed_in') {
      await audit(db, { id: null, name: username }, 'auth.login_failed', username, { ip, reason: outcome.kind });
      const error = outcome.kind === 'disabled' ? 'This account is disabled.' : 'Wrong username or password.';
      return c.html(<LoginPage username={username} error={error} />, outcome.kind === 'disabled' ? 403 : 401);
    }
    const { user } = outcome;
    await beginSession(c, user.id);
    if (outcome.newDevice) setDeviceCookie(c, outcome.newDevice);
    await audit(db, { id: user.id, name: user.username }, 'auth.login', user.username, { ip });
    return c.redirect(user.mustChangePassword ? CHANGE_PASSWORD_PAGE : '/', 303);
  })
  .post('/logout', async (c) => {
    const { db } = c.var.deps;
    if (c.var.sessionId && c.var.user) {
      await invalidateSession(db, c.var.sessionId);
      await audit(db, { id: c.var.user.id, name: c.var.user.username }, 'auth.logout', c.var.user.username);
      await c.var.deps.auth?.settle(); // every web process now refuses the cookie
    }
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    deleteSignedInCookie(c);
    c.header('HX-Redirect', '/login');
    return c.redirect('/login', 303);
  });
