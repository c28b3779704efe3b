import { hash, verify } from '@node-rs/argon2';

// argon2id (the library's default algorithm) with OWASP's minimum parameters.
const params = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const hashPassword = (password: string): Promise<string> => hash(password, params);

/** How many passwords this process has checked: tests prove the login limits with it. */
export const passwordChecks = { count: 0 };

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  passwordChecks.count++;
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** Spent on unknown usernames so that timing does not reveal which accounts exist. */
let dummy: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  dummy ??= hashPassword('not-a-real-password');
  await verifyPassword(await dummy, password);
}
