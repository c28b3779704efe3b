import path from 'node:path';
import { makeManagedDir } from './safe-dirs.ts';
import { replaceManagedFile } from './safe-fs.ts';

/**
 * Writes `text` to `file` through a rename, so a reader never sees half a file, without
 * following a symlink a service account planted (safe-fs). The file holds secrets: it is
 * always the worker's own and mode 0600, whatever was there before.
 */
export async function writePrivateFile(file: string, text: string, managed: readonly string[]): Promise<void> {
  await makeManagedDir(path.dirname(file), managed, 0o755);
  await replaceManagedFile(file, text, managed, { mode: 0o600 });
}
