#!/usr/bin/env node
// The `deckhand` command: runs the compiled CLI from dist/ (`npm run build:app` writes it).
import fs from 'node:fs';
import path from 'node:path';

const main = path.resolve(import.meta.dirname, '../../dist/server/cli/main.js');
if (!fs.existsSync(main)) {
  process.stderr.write(`deckhand: ${main} is missing; run \`npm run build\` in ${path.resolve(main, '../../../..')}\n`);
  process.exit(1);
}
await import(main);
