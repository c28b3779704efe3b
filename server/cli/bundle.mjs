// `npm run build:cli`: bundles the standalone `deckhand` (the API commands) into one file that needs
// nothing but Node 20. Written through a temporary file, so a server never serves half a bundle.
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '../..');
const outfile = path.join(root, 'dist/cli/deckhand.mjs');
const tmp = `${outfile}.${process.pid}.tmp`;

fs.mkdirSync(path.dirname(outfile), { recursive: true });
const result = await build({
  entryPoints: [path.join(root, 'server/cli/standalone.ts')],
  outfile: tmp,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  banner: { js: '#!/usr/bin/env node' },
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
const builtins = new Set(builtinModules);
const external = Object.values(result.metafile.outputs)
  .flatMap((o) => o.imports)
  .map((i) => i.path)
  .filter((p) => !p.startsWith('node:') && !builtins.has(p));
if (external.length > 0) {
  fs.rmSync(tmp, { force: true });
  console.error(`the CLI bundle would need packages at run time: ${[...new Set(external)].join(', ')}`);
  process.exit(1);
}
fs.chmodSync(tmp, 0o755);
fs.renameSync(tmp, outfile);
console.log(`built ${path.relative(root, outfile)} (${Math.round(fs.statSync(outfile).size / 1024)} KiB)`);
