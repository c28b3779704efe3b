import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError } from '../jobs/lib/errors.ts';
import { isManagedPath } from '../jobs/lib/targets.ts';

/**
 * Root writing managed files in directories that a service account may own (DESIGN §9).
 * Every path is rebuilt on the realpath of its directory and checked against
 * DECKHAND_MANAGED_PATHS at use time; a symlink as the final component is refused;
 * files are opened with O_NOFOLLOW; temporary files are created exclusively under
 * random names beside their target; owner and mode are set on the open handle.
 *
 * Operations then use the resolved path, so a later swap needs write access to a
 * parent of the resolved directory, not merely to the directory itself.
 */

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;

/** A managed path that root must not use as it stands; the job ends `failed` with this message. */
export class UnsafePathError extends UnrecoverableError {
  override name = 'UnsafePathError';
}

export class SymlinkRefusedError extends UnsafePathError {
  override name = 'SymlinkRefusedError';
  constructor(readonly file: string) {
    super(`refusing to follow a symlink at ${file}`);
  }
}

export class OutsideManagedPathsError extends UnsafePathError {
  override name = 'OutsideManagedPathsError';
}

export const code = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code;

/** The managed roots resolved too, so that /var/run (a symlink to /run) still matches its own files. */
async function realRoots(managed: readonly string[]): Promise<string[]> {
  const resolved = await Promise.all(managed.map((r) => fs.realpath(r).catch(() => r)));
  return [...new Set([...managed, ...resolved])];
}

/** `real` must lie under a managed root; a directory may also be one (a drop-in right in /etc/deckhand). */
export async function assertManaged(original: string, real: string, managed: readonly string[], isDir = false) {
  const roots = await realRoots(managed);
  if (!isManagedPath(real, roots) && !(isDir && roots.some((r) => path.resolve(r) === real))) {
    const where = real === original ? '' : ` (it resolves to ${real})`;
    throw new OutsideManagedPathsError(
      `refusing ${original}: it is outside the managed paths ${managed.join(', ')}${where}`,
    );
  }
}

/** lstat, or null when nothing is there; a symlink is refused. */
export async function lstatNoSymlink(file: string): Promise<Stats | null> {
  const st = await fs.lstat(file).catch((err) => {
    if (code(err) === 'ENOENT') return null;
    throw err;
  });
  if (st?.isSymbolicLink()) throw new SymlinkRefusedError(file);
  return st;
}

/**
 * `file` rebuilt on the real path of its directory, which must lie under a managed
 * path. The final component is not checked: see `resolveManaged`.
 */
export async function realDirOf(file: string, managed: readonly string[]): Promise<string> {
  const dir = path.dirname(file);
  const realDir = await fs.realpath(dir).catch((err) => {
    if (code(err) === 'ENOENT') throw new UnsafePathError(`${dir} does not exist`);
    throw err;
  });
  const real = path.join(realDir, path.basename(file));
  await assertManaged(file, real, managed);
  return real;
}

/** `file` on its real directory, under a managed path, and not itself a symlink. */
export async function resolveManaged(file: string, managed: readonly string[]): Promise<string> {
  const real = await realDirOf(file, managed);
  await lstatNoSymlink(real);
  return real;
}

async function openNoFollow(file: string, flags: number, mode?: number): Promise<fs.FileHandle> {
  try {
    return await fs.open(file, flags | O_NOFOLLOW, mode);
  } catch (err) {
    if (code(err) === 'ELOOP') throw new SymlinkRefusedError(file);
    if (code(err) === 'EEXIST') throw new UnsafePathError(`refusing to write ${file}: something is already there`);
    throw err;
  }
}

/** Reads a regular file without following a symlink, and without hanging on a planted FIFO. */
async function readNoFollow(file: string, maxBytes = Number.POSITIVE_INFINITY): Promise<{ data: Buffer; stat: Stats }> {
  const handle = await openNoFollow(file, O_RDONLY | O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UnsafePathError(`refusing ${file}: it is not a regular file`);
    const tooBig = new UnsafePathError(`refusing ${file}: it is larger than ${maxBytes} bytes`);
    if (stat.size > maxBytes) throw tooBig;
    if (!Number.isFinite(maxBytes)) return { data: await handle.readFile(), stat };
    // It may grow after the stat: read one byte past the cap at most.
    const buf = Buffer.alloc(maxBytes + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > maxBytes) throw tooBig;
    return { data: buf.subarray(0, bytesRead), stat };
  } finally {
    await handle.close();
  }
}

/** Makes a rename in `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, O_RDONLY | O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface FileAttrs {
  mode: number;
  /** Owner to give the file; the worker's own when unset. */
  uid?: number;
  gid?: number;
}

/** A randomly named sibling: nothing a service account could have planted in advance. */
export const tempBeside = (real: string) =>
  path.join(path.dirname(real), `.${path.basename(real)}.deckhand-${randomBytes(8).toString('hex')}`);

/**
 * Writes `data` to a new file created exclusively beside `real` (already resolved),
 * sets owner and mode on its handle, then renames it over `real`: readers see the old
 * or the new file, never half, and a symlink at `real` is replaced, never followed.
 */
async function writeAndRename(real: string, data: string | Buffer, attrs: FileAttrs): Promise<void> {
  const tmp = tempBeside(real);
  const handle = await openNoFollow(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o600);
  try {
    try {
      await handle.writeFile(data);
      // chown first: it may clear mode bits that chmod then sets.
      if (attrs.uid !== undefined && attrs.gid !== undefined) await handle.chown(attrs.uid, attrs.gid);
      await handle.chmod(attrs.mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, real);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(path.dirname(real));
}

export interface ReplaceOptions {
  /** The mode of a new file, and of every write unless `keepAttrs`. */
  mode: number;
  /** Keep the replaced file's owner and permission bits (a key's 0640 root:ssl-cert stays so). */
  keepAttrs?: boolean;
  /** Bits never kept from the original, e.g. 0o007 so that a private key never becomes world-readable. */
  neverBits?: number;
}

/** Replaces a managed file's content atomically, without following a symlink anywhere along the way. */
export async function replaceManagedFile(
  file: string,
  data: string | Buffer,
  managed: readonly string[],
  o: ReplaceOptions,
): Promise<void> {
  const real = await resolveManaged(file, managed);
  const old = await lstatNoSymlink(real);
  if (old && !old.isFile()) throw new UnsafePathError(`refusing to replace ${file}: it is not a regular file`);
  const attrs: FileAttrs =
    old && o.keepAttrs
      ? { mode: old.mode & 0o777 & ~(o.neverBits ?? 0), uid: old.uid, gid: old.gid }
      : { mode: o.mode };
  await writeAndRename(real, data, attrs);
}

/** Reads a managed regular file, refusing a symlink (and, given `maxBytes`, a planted huge file). */
export async function readManagedFile(file: string, managed: readonly string[], maxBytes?: number): Promise<Buffer> {
  return (await readNoFollow(await resolveManaged(file, managed), maxBytes)).data;
}

/** Copies `file` to `copy` with the original's owner and mode, following a symlink at neither. */
export async function copyManagedFile(file: string, copy: string, managed: readonly string[]): Promise<void> {
  const { data, stat } = await readNoFollow(await resolveManaged(file, managed));
  const realCopy = await resolveManaged(copy, managed);
  const old = await lstatNoSymlink(realCopy);
  if (old && !old.isFile()) throw new UnsafePathError(`refusing to replace ${copy}: it is not a regular file`);
  await writeAndRename(realCopy, data, { mode: stat.mode & 0o777, uid: stat.uid, gid: stat.gid });
}
