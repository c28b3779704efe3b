import fs from 'node:fs';
import path from 'node:path';

/** Deckhand's app directory as it was named (…/current), and the entry script inside it (dist/server/main.js). */
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
 * WorkingDirectory=/opt/deckhand/current and a relative entry (dist/server/main.js, or server/main.ts
 * through tsx from the sources):
 * the kernel resolves that symlink once, so process.cwd() and argv[1] name the
 * release that was live at start. $PWD, when it names the same directory, keeps
 * the symlink's path, which a later deploy of Deckhand points elsewhere.
 */
export function logicalAppDir(
  entry = process.argv[1] ?? 'dist/server/main.js',
  pwd = process.env.PWD,
  cwd = process.cwd(),
): AppDir {
  const above = path.resolve(cwd, path.dirname(entry), '..');
  const started = path.basename(above) === 'dist' ? path.dirname(above) : above;
  const script = path.relative(started, path.resolve(cwd, entry));
  if (pwd && path.isAbsolute(pwd) && sameDirectory(pwd, started)) return { dir: pwd, script };
  return { dir: started, script };
}

/** Where a web process forked now starts: the release the app directory names at this moment, by its real path. */
export function releaseToRun(app: AppDir): { cwd: string; exec: string } {
  const release = fs.realpathSync(app.dir);
  return { cwd: release, exec: path.join(release, app.script) };
}
