import { constants, type Stats } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import { HostReadError } from '../../jobs/lib/host-reads.ts';
import { code, realDirOf, UnsafePathError } from '../safe-fs.ts';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

export interface OpenLog {
  fh: FileHandle;
  stat: Stats;
  /** The path on the real directory, as opened. */
  real: string;
}

/**
 * Opens a log root may read although a service account owns its directory (DESIGN §9): the real
 * path of the directory must lie under `allowed`, and the file itself must be a regular file
 * reached without a symlink (O_NOFOLLOW; O_NONBLOCK so a planted FIFO cannot hang the read).
 * Null when nothing is there.
 */
export async function openLogFile(file: string, allowed: readonly string[]): Promise<OpenLog | null> {
  let real: string;
  try {
    real = await realDirOf(file, allowed);
  } catch (err) {
    if (err instanceof UnsafePathError && /does not exist/.test(err.message)) return null;
    if (err instanceof UnsafePathError) throw new HostReadError(403, 'log_refused', err.message);
    throw err;
  }
  let fh: FileHandle;
  try {
    fh = await fs.open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    if (code(err) === 'ENOENT') return null;
    if (code(err) === 'ELOOP') throw new HostReadError(403, 'log_refused', `refusing to follow a symlink at ${file}`);
    if (code(err) === 'EACCES') throw new HostReadError(403, 'log_refused', `${file} is not readable`);
    throw err;
  }
  const stat = await fh.stat();
  if (!stat.isFile()) {
    await fh.close();
    throw new HostReadError(403, 'log_refused', `refusing ${file}: it is not a regular file`);
  }
  return { fh, stat, real };
}

/** Like openLogFile, but a missing log is a 404 naming it. */
export async function openExistingLog(file: string, allowed: readonly string[]): Promise<OpenLog> {
  const log = await openLogFile(file, allowed);
  if (!log) throw new HostReadError(404, 'log_missing', `${file} does not exist`);
  return log;
}
