// `npm run build:app`: compiles Deckhand's TypeScript to dist/ (what `npm start`, the units and the CLI
// run) and copies the files the compiled code reads next to itself. Type errors are `npm run typecheck`'s
// business; this only transpiles (tsc --noCheck), so a build takes seconds. With --if-stale (npm start,
// the tests) it does nothing while dist/ is newer than every file it is built from.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const stamp = path.join(dist, 'BUILT');
const SOURCES = [
  'config.ts',
  'server',
  'worker',
  'jobs',
  'db',
  'views',
  'tsconfig.json',
  'tsconfig.build.json',
  'build',
];

/** The newest modification time among the files dist/ is built from. */
function newestSource() {
  let newest = 0;
  for (const top of SOURCES) {
    const full = path.join(root, top);
    const stat = fs.statSync(full, { throwIfNoEntry: false });
    if (!stat) continue;
    const files = stat.isDirectory()
      ? fs.readdirSync(full, { recursive: true }).map((f) => path.join(full, f))
      : [full];
    for (const f of files) newest = Math.max(newest, fs.statSync(f).mtimeMs);
  }
  return newest;
}

const built = fs.statSync(stamp, { throwIfNoEntry: false })?.mtimeMs ?? 0;
if (process.argv.includes('--if-stale') && built > newestSource()) process.exit(0);

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// A fresh directory beside dist/, swapped in whole: a process starting meanwhile sees the old build or the new one.
const next = `${dist}.next-${process.pid}`;
fs.rmSync(next, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', next], {
  cwd: root,
  stdio: 'inherit',
});
for (const asset of ['server/static', 'db/migrations', 'db/embedded-lifeline.mjs']) {
  fs.cpSync(path.join(root, asset), path.join(next, asset), { recursive: true });
}
fs.writeFileSync(path.join(next, 'BUILT'), `${new Date().toISOString()}\n`);
// What other builds put in dist/ (build:cli's dist/cli) stays.
for (const other of fs.existsSync(dist) ? fs.readdirSync(dist) : []) {
  if (!fs.existsSync(path.join(next, other))) fs.renameSync(path.join(dist, other), path.join(next, other));
}
const old = `${dist}.old-${process.pid}`;
if (fs.existsSync(dist)) fs.renameSync(dist, old);
fs.renameSync(next, dist);
fs.rmSync(old, { recursive: true, force: true });
