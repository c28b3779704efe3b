import type { Context } from 'hono';
import { deleteCookie, getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { type Role, roleAtLeast } from '../db/users.ts';
import { requestIsHttps } from './auth/client-address.ts';
import { validateSession } from './auth/sessions.ts';
import { deleteSignedInCookie, signedInAtCookie, signOutReason } from './auth/signed-out.ts';
import { validateApiToken } from './auth/tokens.ts';
import type { AppEnv } from './context.ts';
import { forbidden, HttpError } from './errors.ts';

export const SESSION_COOKIE = 'deckhand_session';
export const CSRF_HEADER = 'X-CSRF-Token';

// Every request passes here: `c.get` reads one variable, where Hono's `c.var` builds an object of all of them.
/** Resolves the caller from a bearer token or the session cookie; never rejects by itself. */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const { db, config, auth } = c.get('deps');
  c.set('user', null);
  c.set('via', null);
  c.set('sessionId', null);
  c.set('csrfToken', null);
  c.set('signedOut', null);
  const header = c.req.header('Authorization');
  if (header?.startsWith('Bearer ')) {
    const user = await validateApiToken(db, header.slice(7).trim(), auth);
    if (!user) throw new HttpError(401, 'unauthenticated', 'invalid or expired token');
    c.set('user', user);
    c.set('via', 'token');
  } else {
    const token = getCookie(c, SESSION_COOKIE);
    const session = token
      ? await validateSession(
          db,
          token,
          {
            idleMs: config.DECKHAND_SESSION_IDLE_HOURS * 3_600_000,
            maxAgeMs: config.DECKHAND_SESSION_MAX_DAYS * 86_400_000,
          },
          auth,
        )
      : null;
    if (session && 'ended' in session) {
      c.set('signedOut', await signOutReason(db, session.ended, signedInAtCookie(c)));
    } else if (session) {
      c.set('user', session.user);
      c.set('via', 'session');
      c.set('sessionId', session.id);
      c.set('csrfToken', session.csrfToken);
    }
  }
  await next();
});

const isPage = (accept: string | undefined, hx: string | undefined) => !hx && (accept ?? '').includes('text/html');

/** The login page, saying why when a session cookie came that no longer signs in (and dropping that cookie). */
function signInPage(c: Context<AppEnv>): string {
  const reason = c.get('signedOut');
  if (!reason) return '/login';
  deleteCookie(c, SESSION_COOKIE, { path: '/' });
  deleteSignedInCookie(c);
  return `/login?reason=${reason}`;
}

/** Requires a caller with at least `role`: 401 (or a login redirect for pages) and 403 otherwise. */
export const requireRole = (role: Role) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const user = c.get('user');
    if (!user) {
      const login = signInPage(c);
      if (isPage(c.req.header('Accept'), c.req.header('HX-Request'))) return c.redirect(login);
      if (c.req.header('HX-Request')) c.header('HX-Redirect', login);
      throw new HttpError(401, 'unauthenticated', 'sign in or send a bearer token');
    }
    if (!roleAtLeast(user.role, role)) throw forbidden(`this needs the ${role} role`);
    await next();
  });

/**
 * Session-authenticated writes must carry the session's CSRF token, in the
 * X-CSRF-Token header (htmx sends it on every request) or a `_csrf` form field.
 * Origin and Sec-Fetch-Site are checked separately by requireSameOrigin.
 */
export const requireCsrfToken = createMiddleware<AppEnv>(async (c, next) => {
  if (c.get('via') !== 'session' || ['GET', 'HEAD', 'OPTIONS'].includes(c.req.method)) return next();
  let sent = c.req.header(CSRF_HEADER);
  if (!sent && (c.req.header('Content-Type') ?? '').includes('form')) {
    const form = await c.req.parseBody();
    sent = typeof form._csrf === 'string' ? form._csrf : undefined;
  }
  if (!sent || sent !== c.get('csrfToken')) throw new HttpError(403, 'csrf', 'missing or wrong CSRF token');
  await next();
});

/** This server's origin as the browser sees it: behind a trusted TLS proxy the URL says http, the browser https. */
function ownOrigin(c: Context<AppEnv>): string {
  const url = new URL(c.req.url);
  if (requestIsHttps(c)) url.protocol = 'https:';
  return url.origin;
}

const SAFE_METHODS = /^(GET|HEAD|OPTIONS)$/;
/** What a cross-site HTML form can send: hono/csrf's list, and an anonymous write is only refused for these. */
const FORM_LIKE = /^\s*(application\/x-www-form-urlencoded|multipart\/form-data|text\/plain)\b/i;

/**
 * Refuses a cross-site write that a browser sends with ambient credentials (DESIGN §6). A session
 * cookie rides along on any request the browser makes, so for a session every unsafe method is
 * checked whatever its content type (JSON included); an anonymous request carries no authority
 * except for a login, so only form-like bodies are. Sec-Fetch-Site, when a browser sends it, is
 * the browser's own word and decides; otherwise Origin must be this server's. Bearer tokens are
 * never sent implicitly, so token clients (no Origin, no Sec-Fetch-Site) pass.
 */
export const requireSameOrigin = createMiddleware<AppEnv>(async (c, next) => {
  if (c.get('via') === 'token' || SAFE_METHODS.test(c.req.method)) return next();
  if (c.get('via') === null && !FORM_LIKE.test(c.req.header('Content-Type') || 'text/plain')) return next();
  const site = c.req.header('Sec-Fetch-Site');
  const origin = c.req.header('Origin');
  const sameOrigin = site !== undefined ? site === 'same-origin' : origin === ownOrigin(c);
  if (!sameOrigin) throw new HttpError(403, 'csrf', 'cross-site request refused');
  await next();
});
