import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** vitest globalSetup: the standalone CLI bundle (dist/cli/deckhand.mjs) exists before any test serves it. */
export default function buildCli(): void {
  execFileSync(process.execPath, ['server/cli/bundle.mjs'], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
