import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../context.ts';
import { SESSION_COOKIE } from '../middleware.ts';
import { requestIsHttps } from './client-address.ts';
import { DEVICE_COOKIE, DEVICE_MAX_AGE_DAYS } from './devices.ts';
import { createSession, invalidateSession } from './sessions.ts';
import { SIGNED_IN_COOKIE } from './signed-out.ts';

function secureCookies(c: Context<AppEnv>): boolean {
  const mode = c.var.deps.config.DECKHAND_SECURE_COOKIES;
  return mode === 'auto' ? requestIsHttps(c) : mode === 'always';
}

/**
 * Starts a fresh session for `userId` in place of the caller's current one, if any: on sign-in (a
 * planted cookie never becomes authenticated) and when the caller's own role or password changes.
 */
export async function beginSession(c: Context<AppEnv>, userId: string): Promise<void> {
  const { db, config } = c.var.deps;
  if (c.var.sessionId) {
    await invalidateSession(db, c.var.sessionId);
    await c.var.deps.auth?.settle(); // every web process now refuses the old cookie
  }
  const session = await createSession(db, userId);
  setCookie(c, SESSION_COOKIE, session.token, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: secureCookies(c),
    path: '/',
    maxAge: Math.floor(config.DECKHAND_SESSION_MAX_DAYS * 86_400),
  });
  // When this sign-in happened, to tell a later restart's sign-out from others (see signed-out.ts).
  setCookie(c, SIGNED_IN_COOKIE, String(Date.now()), {
    httpOnly: true,
    sameSite: 'Lax',
    secure: secureCookies(c),
    path: '/',
    maxAge: Math.floor(config.DECKHAND_SESSION_MAX_DAYS * 86_400),
  });
}

/** The known-device cookie is only ever needed by the login form. */
export const deviceCookie = (c: Context<AppEnv>): string | undefined => getCookie(c, DEVICE_COOKIE);

export function setDeviceCookie(c: Context<AppEnv>, value: string): void {
  setCookie(c, DEVICE_COOKIE, value, {
    httpOnly: true,
    sameSite: 'Strict',
    secure: secureCookies(c),
    path: '/login',
    maxAge: DEVICE_MAX_AGE_DAYS * 86_400,
  });
}
