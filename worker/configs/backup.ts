import fs from 'node:fs/promises';
import path from 'node:path';

/** Backups kept per target; older ones go when a new one is made. Every version is in PostgreSQL anyway. */
const KEEP = 50;

/**
 * A copy of the live file before a job changes it, in Deckhand's own state directory
 * (DECKHAND_DATA_DIR/config-backups/<target>/, 0700) and never beside the file: nginx would
 * load a backup left in conf.d. Created exclusively, 0600.
 */
export async function backUpConfig(stateDir: string, target: string, jobId: string, file: string, text: string) {
  const dir = path.join(stateDir, 'config-backups', target);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(path.join(stateDir, 'config-backups'), 0o700);
  const copy = path.join(dir, `${jobId}-${path.basename(file)}`);
  await fs.writeFile(copy, text, { flag: 'wx', mode: 0o600 });
  await pruneBackups(dir);
  return copy;
}

async function pruneBackups(dir: string): Promise<void> {
  const names = await fs.readdir(dir);
  if (names.length <= KEEP) return;
  const dated = await Promise.all(
    names.map(async (n) => ({ n, at: (await fs.lstat(path.join(dir, n)).catch(() => null))?.mtimeMs ?? 0 })),
  );
  dated.sort((a, b) => a.at - b.at);
  for (const { n } of dated.slice(0, dated.length - KEEP)) await fs.rm(path.join(dir, n), { force: true });
}
