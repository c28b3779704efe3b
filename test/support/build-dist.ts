import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * vitest's global setup: tests start Deckhand as production does, from dist/ (npm start, the units'
 * entry points, the CLI), so it must be built from the sources under test. Only when a source is newer.
 */
export default function buildDist(): void {
  execFileSync(process.execPath, ['build/app.mjs', '--if-stale'], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    stdio: 'inherit',
  });
}
