import type { Context } from 'hono';
import { deleteCookie, getCookie } from 'hono/cookie';
import type { Db } from '../../db/client.ts';
import { readColdStart } from '../../db/cold-start.ts';
import { readRestartState } from '../../db/settings.ts';
import type { AppEnv } from '../context.ts';

/**
 * Why a browser's session ended, for the login page (DESIGN §6). Deckhand sees an expiry itself:
 * the check that finds a session idle or too old ends it. A session row that is already gone was
 * ended by a restart's sign-out or by something else (a sign-out, a password or role change, an
 * admin disabling the user). The session id says nothing about when it was made, so sign-in also
 * sets a companion cookie with the sign-in time: if the last restart that signed everyone out
 * started after it (or a cold start of the web tier signed everyone out after it), the restart ended the session. The companion cookie is the browser's own word,
 * but all it can change is which sentence that browser reads.
 */
export type SignOutReason = 'expired' | 'restarted' | 'elsewhere';
export const signOutReasons = ['expired', 'restarted', 'elsewhere'] as const;

export const SIGNED_IN_COOKIE = 'deckhand_signed_in';

export async function signOutReason(
  db: Db,
  ended: 'expired' | 'gone',
  signedInAt: string | undefined,
): Promise<SignOutReason> {
  if (ended === 'expired') return 'expired';
  const since = Number(signedInAt);
  if (!Number.isSafeInteger(since)) return 'elsewhere';
  const [restart, coldStart] = await Promise.all([readRestartState(db), readColdStart(db)]);
  // Both end every session: a deliberate restart (if it signed out) and a cold start of the web tier.
  const signOuts = [restart.signedOut !== null ? restart.startedAt : null, coldStart?.at ?? null];
  return signOuts.some((at) => at !== null && since < Date.parse(at)) ? 'restarted' : 'elsewhere';
}

export const signedInAtCookie = (c: Context<AppEnv>): string | undefined => getCookie(c, SIGNED_IN_COOKIE);

export function deleteSignedInCookie(c: Context<AppEnv>): void {
  deleteCookie(c, SIGNED_IN_COOKIE, { path: '/' });
}

/** The sentence the login page shows for a reason. */
export const SIGN_OUT_SENTENCES: Record<SignOutReason, string> = {
  expired: 'Your session expired. Sign in again to go on.',
  restarted: 'Deckhand was restarted, which signs everyone out. Sign in again to go on.',
  elsewhere:
    'You were signed out elsewhere: a sign-out, a change of your password or role, or an admin. Sign in again to go on.',
};
