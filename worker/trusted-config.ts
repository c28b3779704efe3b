import fs from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError } from '../jobs/lib/errors.ts';

/**
 * A configuration file that root hands to nginx or supervisorctl, but that someone other
 * than root could change: `nginx -t -c` alone loads the modules a config names, so a config
 * an app's user can edit is code that user runs as root (DESIGN §9).
 */
export class UntrustedConfigError extends UnrecoverableError {
  override name = 'UntrustedConfigError';
}

const STICKY = 0o1000;
const ownUid = process.getuid?.() ?? 0;

/**
 * Refuses `p` unless it and every directory above it belong to root (or Deckhand's own
 * user) and nobody else can write to them. A sticky world-writable directory such as
 * /tmp passes: nobody but their owner can replace the entries in it.
 */
async function assertOwnedChain(start: string, shown: string): Promise<void> {
  for (let p = start; ; p = path.dirname(p)) {
    const st = await fs.lstat(p).catch(() => null);
    if (!st) throw new UntrustedConfigError(`refusing ${shown}: ${p} does not exist`);
    if (st.uid !== 0 && st.uid !== ownUid)
      throw new UntrustedConfigError(`refusing ${shown}: ${p} belongs to uid ${st.uid}, who could change it`);
    const othersWrite = (st.mode & 0o022) !== 0 && !st.isSymbolicLink();
    if (othersWrite && !(st.isDirectory() && st.mode & STICKY))
      throw new UntrustedConfigError(`refusing ${shown}: ${p} is writable by group or others`);
    if (p === path.dirname(p)) return;
  }
}

/**
 * The real path of a config file root may read, once the path as given and the path
 * it resolves to are both root's alone: a symlink is followed only where no one else
 * could have planted or changed it.
 */
export async function trustedConfigPath(file: string): Promise<string> {
  await assertOwnedChain(file, file);
  const real = await fs.realpath(file);
  if (real !== file) await assertOwnedChain(real, file);
  const st = await fs.stat(real);
  if (!st.isFile()) throw new UntrustedConfigError(`refusing ${file}: it is not a regular file`);
  return real;
}
