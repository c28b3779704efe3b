import { sha256 } from '@oslojs/crypto/sha2';
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';

/** 120 bits of randomness as lowercase base32, Lucia's recipe for ids and secrets. */
export function randomString(bytes = 15): string {
  return encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(bytes)));
}

export const hashSecret = (secret: string): Uint8Array => sha256(new TextEncoder().encode(secret));

export const secretMatches = (secret: string, storedHash: Uint8Array): boolean =>
  constantTimeEqual(hashSecret(secret), storedHash);

/** Splits `id.secret`; null for anything else. */
export function splitToken(token: string): { id: string; secret: string } | null {
  const parts = token.split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1] || token.length > 200) return null;
  return { id: parts[0], secret: parts[1] };
}
