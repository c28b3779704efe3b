import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../context.ts';
import { HttpError } from '../errors.ts';

export const CHANGE_PASSWORD_PAGE = '/account/password';

/** What a session that must change its password may still reach. */
const allowed = new Set([CHANGE_PASSWORD_PAGE, '/api/account/password', '/login', '/logout']);

/**
 * A session signed in with a one-time password (the initial admin's) may only change it: pages
 * redirect to the change-password page, everything else answers 403 `password_change_required`.
 * Tokens are made host-side by root (`deckhand token create`), so they are not held back.
 */
export const requirePasswordChanged = createMiddleware<AppEnv>(async (c, next) => {
  if (c.get('via') !== 'session' || !c.get('user')?.mustChangePassword || allowed.has(c.req.path)) return next();
  if (c.req.path.startsWith('/static/')) return next();
  const hx = c.req.header('HX-Request');
  if (c.req.method === 'GET' && !hx && (c.req.header('Accept') ?? '').includes('text/html')) {
    return c.redirect(CHANGE_PASSWORD_PAGE);
  }
  if (hx) c.header('HX-Redirect', CHANGE_PASSWORD_PAGE);
  throw new HttpError(403, 'password_change_required', 'change your one-time password first');
});
