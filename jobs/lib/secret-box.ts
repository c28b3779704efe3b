import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * AES-256-GCM for secrets kept in PostgreSQL (target environments, private keys).
 * Layout: 12-byte nonce | 16-byte tag | ciphertext. The key never enters the database.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
  }

  seal(plain: string): Buffer {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([nonce, cipher.getAuthTag(), body]);
  }

  open(sealed: Uint8Array): string {
    const buf = Buffer.from(sealed);
    const decipher = createDecipheriv('aes-256-gcm', this.key, buf.subarray(0, 12));
    decipher.setAuthTag(buf.subarray(12, 28));
    return Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()]).toString('utf8');
  }
}

/**
 * The sealed JSON of a target also keeps its repository URL's credential, under
 * a key that can never be an environment variable's name.
 */
const REPO_CREDENTIAL_KEY = 'deckhand:repo-credential';

/** A repository URL's credential, sealed for the origin (scheme, host and port) it was given for. */
export interface RepoCredential {
  origin: string;
  secret: string;
}

export interface TargetSecrets {
  env: Record<string, string>;
  repo: RepoCredential | null;
}

export function openTargetSecrets(box: SecretBox, sealed: Uint8Array | null): TargetSecrets {
  const all = sealed ? (JSON.parse(box.open(sealed)) as Record<string, string>) : {};
  const { [REPO_CREDENTIAL_KEY]: repo, ...env } = all;
  return { env, repo: repo ? (JSON.parse(repo) as RepoCredential) : null };
}

/** Null when there is nothing to seal. */
export function sealTargetSecrets(box: SecretBox, s: TargetSecrets): Buffer | null {
  const all = { ...s.env, ...(s.repo ? { [REPO_CREDENTIAL_KEY]: JSON.stringify(s.repo) } : {}) };
  return Object.keys(all).length > 0 ? box.seal(JSON.stringify(all)) : null;
}

/** A target's environment secrets (name → value), or none. */
export function openEnv(box: SecretBox, sealed: Uint8Array | null): Record<string, string> {
  return openTargetSecrets(box, sealed).env;
}

/** DECKHAND_SECRET_KEY, or `<dataDir>/secret.key` (created 0600 on first use). */
export function loadSecretBox(configured: string | undefined, dataDir: string): SecretBox {
  if (configured) return new SecretBox(Buffer.from(configured, 'base64'));
  const file = path.join(dataDir, 'secret.key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  return new SecretBox(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64'));
}
