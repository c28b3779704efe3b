import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { globParts, isConfigPath } from '../../jobs/lib/config-paths.ts';
import { HostReadError } from '../../jobs/lib/host-reads.ts';
import type { ConfigsSpec } from '../../jobs/lib/targets.ts';
import { assertManaged, code, resolveManaged, SymlinkRefusedError, UnsafePathError } from '../safe-fs.ts';

/**
 * A target's config files as root sees them (DESIGN §10), read without following anything a
 * service account could have planted: each glob's directory by its realpath under the managed
 * paths, regular files only, O_NOFOLLOW, and never more than MAX_CONFIG_BYTES.
 */

export const MAX_CONFIG_BYTES = 1024 * 1024;

export class ConfigTextError extends HostReadError {
  override name = 'ConfigTextError';
}

/** The path must be one the section covers; anything else is a 400 naming it. */
export function assertConfigPath(spec: ConfigsSpec, file: string): void {
  if (!isConfigPath(spec, file))
    throw new HostReadError(400, 'invalid_path', `${file} is not one of this target's config files`, {
      path: file,
      files: spec.files,
    });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of a config file, or null when it does not exist. */
export async function readConfigText(file: string, managed: readonly string[]): Promise<string | null> {
  let real: string;
  try {
    real = await resolveManaged(file, managed);
  } catch (err) {
    if (err instanceof SymlinkRefusedError) throw new ConfigTextError(422, 'not_a_file', `${file} is a symlink`);
    if (err instanceof UnsafePathError) throw new ConfigTextError(400, 'invalid_path', err.message);
    throw err;
  }
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;
  const handle = await fs.open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK).catch((err) => {
    if (code(err) === 'ENOENT') return null;
    if (code(err) === 'ELOOP') throw new ConfigTextError(422, 'not_a_file', `${file} is a symlink`);
    throw err;
  });
  if (!handle) return null;
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new ConfigTextError(422, 'not_a_file', `${file} is not a regular file`);
    if (st.size > MAX_CONFIG_BYTES)
      throw new ConfigTextError(413, 'too_large', `${file} is larger than ${MAX_CONFIG_BYTES} bytes`);
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > MAX_CONFIG_BYTES)
      throw new ConfigTextError(413, 'too_large', `${file} is larger than ${MAX_CONFIG_BYTES} bytes`);
    const bytes = buf.subarray(0, bytesRead);
    if (bytes.includes(0)) throw new ConfigTextError(422, 'not_text', `${file} is not a text file`);
    try {
      return utf8.decode(bytes);
    } catch {
      throw new ConfigTextError(422, 'not_text', `${file} is not UTF-8 text`);
    }
  } finally {
    await handle.close();
  }
}

/** Every regular file the globs match, by the path the glob names (sorted). Symlinks and others are skipped. */
export async function listConfigFiles(spec: ConfigsSpec, managed: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const glob of spec.files) {
    const g = globParts(glob);
    const realDir = await fs.realpath(g.dir).catch(() => null);
    if (!realDir) continue;
    await assertManaged(g.dir, realDir, managed, true);
    const entries = await fs.readdir(realDir, { withFileTypes: true });
    for (const e of entries) if (e.isFile() && g.matches(e.name)) found.add(path.join(g.dir, e.name));
  }
  return [...found].sort();
}

/**
 * The files that `enabledDir` enables: each symlink there, read (never followed) and resolved
 * against the directory. Only the link's own text counts, so a link cannot make a file look enabled
 * through another link.
 */
export async function enabledTargets(spec: ConfigsSpec, managed: readonly string[]): Promise<Set<string>> {
  const dir = spec.enabledDir;
  if (!dir) return new Set();
  const realDir = await fs.realpath(dir).catch(() => null);
  if (!realDir) return new Set();
  await assertManaged(dir, realDir, managed, true);
  const out = new Set<string>();
  for (const e of await fs.readdir(realDir, { withFileTypes: true })) {
    if (!e.isSymbolicLink()) continue;
    const to = await fs.readlink(path.join(realDir, e.name)).catch(() => null);
    if (to) out.add(path.resolve(dir, to));
  }
  return out;
}
