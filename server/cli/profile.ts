import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError } from './errors.ts';
import { parseServerUrl } from './http.ts';

/** What `deckhand login` saves: where Deckhand is, the API token, and a private CA if one was given. */
export interface Profile {
  url: string;
  token: string;
  ca?: string;
}

/** Where a command sends its requests, after flags, environment and the saved profile. */
export interface Connection {
  base: string;
  token: string | undefined;
  ca: string | undefined;
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** `$XDG_CONFIG_HOME/deckhand/config.json`, else `~/.config/deckhand/config.json` (XDG ignores relative paths). */
export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'deckhand', 'config.json');
}

/** Like ssh with a private key: a token file others may read (or write) is said so, with the fix. */
function warnIfExposed(file: string, mode: number): void {
  if ((mode & 0o077) === 0) return;
  process.stderr.write(
    `deckhand: warning: ${file} holds your API token and is mode ${mode.toString(8).padStart(4, '0')}: ` +
      `other users may read it; run chmod 600 ${file} (or deckhand login again)\n`,
  );
}

export function loadProfile(env: NodeJS.ProcessEnv = process.env): Profile | null {
  const file = configFile(env);
  let text: string;
  let mode: number;
  try {
    // One open file for both its mode and its text, so the two describe the same file.
    const fd = fs.openSync(file, 'r');
    try {
      mode = fs.fstatSync(fd).mode & 0o777;
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  warnIfExposed(file, mode);
  try {
    const p = JSON.parse(text) as Profile;
    if (typeof p.url === 'string' && typeof p.token === 'string') return p;
  } catch {}
  throw new CliError(`${file} is not a config deckhand wrote; run deckhand login URL again`);
}

/** Writes the profile 0600 in a 0700 directory, through a temporary file so a crash never leaves half a token. */
export function saveProfile(profile: Profile, env: NodeJS.ProcessEnv = process.env): string {
  const file = configFile(env);
  const dir = path.dirname(file);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeFileSync(fd, `${JSON.stringify(profile, null, 2)}\n`);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fs.existsSync(tmp)) fs.rmSync(tmp);
    throw new CliError(`cannot save the login in ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  return file;
}

export function removeProfile(env: NodeJS.ProcessEnv = process.env): { file: string; removed: boolean } {
  const file = configFile(env);
  if (!fs.existsSync(file)) return { file, removed: false };
  fs.rmSync(file);
  return { file, removed: true };
}

/** A CA file's PEM, checked to be a certificate so a wrong file fails here and not as a TLS error. */
export function readCa(file: string): string {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read the CA file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`, 2);
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw new CliError(`${file} is not a PEM certificate`, 2);
  }
  return pem;
}

export const normaliseUrl = (text: string) => parseServerUrl(text).href.replace(/\/+$/, '');

/**
 * DECKHAND_URL, DECKHAND_TOKEN and --ca (or DECKHAND_CA) win over the saved profile. The saved token
 * and CA go only to the saved URL: pointing DECKHAND_URL elsewhere never sends them to another server.
 */
export function resolveConnection(env: NodeJS.ProcessEnv, caFile: string | undefined): Connection {
  const profile = loadProfile(env);
  const base = normaliseUrl(env.DECKHAND_URL || profile?.url || DEFAULT_URL);
  const saved = profile && normaliseUrl(profile.url) === base ? profile : null;
  const ca = caFile ?? env.DECKHAND_CA;
  return {
    base,
    token: env.DECKHAND_TOKEN || saved?.token,
    ca: ca ? readCa(ca) : saved?.ca,
  };
}
