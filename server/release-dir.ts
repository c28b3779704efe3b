import fs from 'node:fs';
import path from 'node:path';

/** Deckhand's app directory as it was named (…/current), and the entry script inside it (server/main.ts). */
export interface AppDir {
  dir: string;
  script: string;
}

function sameDirectory(a: string, b: string): boolean {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * The app directory by its logical name. The systemd unit starts Deckhand with
 * WorkingDirectory=/opt/deckhand/current and a relative entry (server/main.ts):
 * the kernel resolves that symlink once, so process.cwd() and argv[1] name the
 * release that was live at start. $PWD, when it names the same directory, keeps
 * the symlink's path, which a later deploy of Deckhand points elsewhere.
 */
export function logicalAppDir(
  entry = process.argv[1] ?? 'server/main.ts',
  pwd = process.env.PWD,
  cwd = process.cwd(),
): AppDir {
  const started = path.resolve(cwd, path.dirname(entry), '..');
  const script = path.relative(started, path.resolve(cwd, entry));
  if (pwd && path.isAbsolute(pwd) && sameDirectory(pwd, started)) return { dir: pwd, script };
  return { dir: started, script };
}

/** Where a web process forked now starts: the release the app directory names at this moment, by its real path. */
export function releaseToRun(app: AppDir): { cwd: string; exec: string } {
  const release = fs.realpathSync(app.dir);
  return { cwd: release, exec: path.join(release, app.script) };
}
