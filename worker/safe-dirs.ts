import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { assertManaged, code, lstatNoSymlink, realDirOf, syncDir, tempBeside, UnsafePathError } from './safe-fs.ts';

/**
 * Directories and symlinks of managed trees (release directories, `current`), with
 * the same rules as safe-fs.ts: real paths under DECKHAND_MANAGED_PATHS, no planted
 * symlink followed, new entries created exclusively.
 */

/**
 * Creates `dir` and its missing parents (mode `mode`) and returns its real path, which
 * must lie under a managed path. A component that appears meanwhile as anything but a
 * directory (a planted symlink) is refused.
 */
export async function makeManagedDir(dir: string, managed: readonly string[], mode = 0o755): Promise<string> {
  const missing: string[] = [];
  let existing = dir;
  for (;;) {
    try {
      existing = await fs.realpath(existing);
      break;
    } catch (err) {
      if (code(err) !== 'ENOENT' || existing === path.dirname(existing)) throw err;
      missing.unshift(path.basename(existing));
      existing = path.dirname(existing);
    }
  }
  let real = existing;
  await assertManaged(dir, path.join(existing, ...missing), managed, true);
  for (const name of missing) {
    real = path.join(real, name);
    await fs.mkdir(real, { mode }).catch(async (err) => {
      if (code(err) !== 'EEXIST') throw err;
      if (!(await lstatNoSymlink(real))?.isDirectory()) throw new UnsafePathError(`${real} is not a directory`);
    });
  }
  return real;
}

/** Creates the directory `dir` only if nothing is there yet, and returns its real path. */
export async function makeFreshDir(dir: string, managed: readonly string[], mode = 0o755): Promise<string> {
  const real = await realDirOf(dir, managed);
  await fs.mkdir(real, { mode }).catch((err) => {
    if (code(err) === 'EEXIST') throw new UnsafePathError(`refusing to use ${dir}: something is already there`);
    throw err;
  });
  return real;
}

/**
 * Points the symlink `link` at `target` with one rename of a new, randomly named link,
 * so it is always the old or the new one. Anything at `link` but a symlink is refused.
 */
export async function replaceSymlink(link: string, target: string, managed: readonly string[]): Promise<void> {
  const real = await realDirOf(link, managed);
  const old = await fs.lstat(real).catch((err) => (code(err) === 'ENOENT' ? null : Promise.reject(err)));
  if (old && !old.isSymbolicLink()) throw new UnsafePathError(`${link} is not a symlink; move it away first`);
  const tmp = tempBeside(real);
  await fs.symlink(target, tmp);
  try {
    await fs.rename(tmp, real);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(path.dirname(real));
}

const run = promisify(execFile);

/**
 * Removes `entry` inside a managed directory: a symlink is unlinked, never followed,
 * and a directory is removed without following the symlinks inside it.
 *
 * A directory goes through GNU rm, which walks the tree from open directory handles
 * (unlinkat), not by path: Node's fs.rm re-resolves the whole path for each entry, so
 * whoever owns a directory above could swap it for a link mid-way and have root list
 * and unlink the files of any directory the link leads to.
 */
export async function removeManagedEntry(entry: string, managed: readonly string[]): Promise<void> {
  const real = await realDirOf(entry, managed);
  const st = await fs.lstat(real).catch((err) => (code(err) === 'ENOENT' ? null : Promise.reject(err)));
  if (!st) return;
  if (st.isSymbolicLink()) await fs.unlink(real);
  else await run('rm', ['-rf', '--one-file-system', '--', real]);
}
