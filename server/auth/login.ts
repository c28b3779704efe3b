import type { Db } from '../../db/client.ts';
import { findUser, type UserRow } from '../../db/users.ts';
import { claimDeviceAttempt, deviceSucceeded, rememberDevice } from './devices.ts';
import { burnPasswordCheck, verifyPassword } from './passwords.ts';
import {
  claimAccountAttempt,
  claimIpAttempt,
  clearAccountAttempts,
  pruneLoginThrottle,
  releaseIpAttempt,
} from './throttle.ts';

export type LoginOutcome =
  | { kind: 'signed_in'; user: UserRow; newDevice: string | null }
  | { kind: 'delayed'; retryAfter: number }
  | { kind: 'wrong' }
  | { kind: 'disabled' };

/**
 * One sign-in attempt. A known device (a cookie from an earlier success of this user) is limited on
 * its own and skips the account's and the address's limits; any other client claims a check from
 * both before its password is verified, so limits hold however many requests arrive at once.
 */
export async function attemptLogin(
  db: Db,
  a: { username: string; password: string; ip: string; device: string | undefined },
): Promise<LoginOutcome> {
  const user = await findUser(db, a.username);
  const device = user ? await claimDeviceAttempt(db, a.device, user.id) : null;
  if (!device) {
    const byIp = await claimIpAttempt(db, a.ip);
    if (!byIp.ok) return { kind: 'delayed', retryAfter: byIp.retryAfter };
    const byAccount = await claimAccountAttempt(db, a.username);
    if (!byAccount.ok) {
      await releaseIpAttempt(db, a.ip);
      return { kind: 'delayed', retryAfter: byAccount.retryAfter };
    }
  }
  if (!user) {
    await burnPasswordCheck(a.password); // unknown names take as long as known ones
    return { kind: 'wrong' };
  }
  if (!(await verifyPassword(user.passwordHash, a.password))) return { kind: 'wrong' };
  if (device) {
    await deviceSucceeded(db, device);
  } else {
    await clearAccountAttempts(db, a.username);
    await releaseIpAttempt(db, a.ip);
  }
  await pruneLoginThrottle(db); // on success only: a flood of failures never pays for it
  if (user.disabled) return { kind: 'disabled' };
  return { kind: 'signed_in', user, newDevice: device ? null : await rememberDevice(db, user.id) };
}
