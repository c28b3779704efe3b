import { copyManagedFile, readManagedFile, replaceManagedFile, resolveManaged } from './safe-fs.ts';

/**
 * The certificate swap of a cert-reload. Its files often sit in directories that a
 * service account owns, so every read, write and backup goes through safe-fs: no
 * symlink is followed, and the original owner and mode are kept.
 */

/** Where the previous pair is kept while (and after) a new one goes live. */
export const backupOf = (file: string) => `${file}.deckhand-backup`;

export interface Swap {
  certPath: string;
  keyPath: string;
}

const certMode = { mode: 0o644, keepAttrs: true };
/** A key keeps its owner and group (e.g. root:ssl-cert 0640) but is never world-readable. */
const keyMode = { mode: 0o600, keepAttrs: true, neverBits: 0o007 };

/** Every path the swap touches, checked before the first write, so a refusal leaves nothing half-done. */
async function checkPaths(swap: Swap, managed: readonly string[]): Promise<void> {
  for (const file of [swap.certPath, swap.keyPath, backupOf(swap.certPath), backupOf(swap.keyPath)]) {
    await resolveManaged(file, managed);
  }
}

/** Keeps a backup of the live pair, then swaps the new pair in, each file by an atomic rename. */
export async function swapIn(swap: Swap, certPem: string, keyPem: string, managed: readonly string[]): Promise<void> {
  await checkPaths(swap, managed);
  await copyManagedFile(swap.certPath, backupOf(swap.certPath), managed);
  await copyManagedFile(swap.keyPath, backupOf(swap.keyPath), managed);
  try {
    await replaceManagedFile(swap.keyPath, keyPem, managed, keyMode);
    await replaceManagedFile(swap.certPath, certPem, managed, certMode);
  } catch (err) {
    // A new key beside the old certificate serves nothing: put the old pair back before failing.
    await restoreBackup(swap, managed).catch(() => {});
    throw err;
  }
}

/** Puts the backed-up pair back in place, again by atomic renames. */
export async function restoreBackup(swap: Swap, managed: readonly string[]): Promise<void> {
  const cert = await readManagedFile(backupOf(swap.certPath), managed);
  const key = await readManagedFile(backupOf(swap.keyPath), managed);
  await replaceManagedFile(swap.certPath, cert, managed, certMode);
  await replaceManagedFile(swap.keyPath, key, managed, keyMode);
}
