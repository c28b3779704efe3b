import fs from 'node:fs/promises';

/** Where the previous pair is kept while (and after) a new one goes live. */
export const backupOf = (file: string) => `${file}.deckhand-backup`;

async function writeDurably(file: string, content: string, mode: number): Promise<void> {
  const handle = await fs.open(file, 'w', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.chmod(file, mode);
}

/** Writes `content` beside `file`, then renames it over `file`: readers see the old or the new file, never half. */
export async function replaceAtomically(file: string, content: string, mode: number): Promise<void> {
  const next = `${file}.deckhand-new`;
  await writeDurably(next, content, mode);
  await fs.rename(next, file);
}

export interface Swap {
  certPath: string;
  keyPath: string;
}

/** Keeps a backup of the live pair, then swaps the new pair in, each file by an atomic rename. */
export async function swapIn(swap: Swap, certPem: string, keyPem: string): Promise<void> {
  await fs.copyFile(swap.certPath, backupOf(swap.certPath));
  await fs.copyFile(swap.keyPath, backupOf(swap.keyPath));
  await fs.chmod(backupOf(swap.keyPath), 0o600);
  await replaceAtomically(swap.keyPath, keyPem, 0o600);
  await replaceAtomically(swap.certPath, certPem, 0o644);
}

/** Puts the backed-up pair back in place, again by atomic renames. */
export async function restoreBackup(swap: Swap): Promise<void> {
  await replaceAtomically(swap.certPath, await fs.readFile(backupOf(swap.certPath), 'utf8'), 0o644);
  await replaceAtomically(swap.keyPath, await fs.readFile(backupOf(swap.keyPath), 'utf8'), 0o600);
}
