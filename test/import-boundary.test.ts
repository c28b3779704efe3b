import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The architecture's boundary (issue 9): the web tier (server/, views/) never loads
 * worker code, so it can never spawn a process or read a host file by accident; job
 * definitions (jobs/) are shared by both tiers and must not drag the worker in either;
 * db/ is the bottom layer and imports none of the others.
 */

const root = path.resolve(import.meta.dirname, '..');
const SOURCE = /\.(ts|tsx|mjs)$/;
const isFile = (p: string) => fs.statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
const SPECIFIER = /\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(?\s*['"]([^'"]+)['"]/g;

function sourceFilesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).flatMap((rel) => {
    const file = path.join(dir, rel);
    return SOURCE.test(file) && isFile(file) ? [file] : [];
  });
}

/** The files a source file imports or re-exports by relative path; packages are not followed. */
function relativeImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(SPECIFIER)]
    .map((m) => m[1] ?? m[2]!)
    .filter((s) => s.startsWith('.'))
    .map((s) => path.resolve(path.dirname(file), s))
    .map((p) => [p, `${p}.ts`, `${p}.tsx`, path.join(p, 'index.ts')].find(isFile) ?? p);
}

/**
 * Every chain of static imports from a file under one of `from` to a file under one of
 * `forbidden`, as `a.ts -> b.ts -> c.ts` relative to `base`; the shortest chain per start file.
 */
function forbiddenChains(base: string, from: string[], forbidden: string[]): string[] {
  const inside = (file: string, dirs: string[]) => dirs.some((d) => file.startsWith(path.join(base, d) + path.sep));
  const importsOf = new Map<string, string[]>();
  const edges = (f: string) => {
    if (!importsOf.has(f)) importsOf.set(f, isFile(f) ? relativeImports(f) : []);
    return importsOf.get(f)!;
  };
  const chains: string[] = [];
  for (const start of from.flatMap((d) => sourceFilesUnder(path.join(base, d)))) {
    // Breadth first, so the chain reported is a shortest one.
    const parent = new Map<string, string | null>([[start, null]]);
    const queue = [start];
    let hit: string | null = null;
    while (queue.length > 0 && !hit) {
      const file = queue.shift()!;
      for (const next of edges(file)) {
        if (parent.has(next)) continue;
        parent.set(next, file);
        if (inside(next, forbidden)) {
          hit = next;
          break;
        }
        queue.push(next);
      }
    }
    if (!hit) continue;
    const chain: string[] = [];
    for (let f: string | null = hit; f; f = parent.get(f) ?? null) chain.unshift(path.relative(base, f));
    chains.push(chain.join(' -> '));
  }
  return chains;
}

describe('import boundary', () => {
  it('server/ and views/ never reach worker/, not even through jobs/ or db/', () => {
    expect(forbiddenChains(root, ['server', 'views'], ['worker'])).toEqual([]);
  });

  it('jobs/ (definitions both tiers load) never reaches worker/', () => {
    expect(forbiddenChains(root, ['jobs'], ['worker'])).toEqual([]);
  });

  it('db/ imports nothing above it: not server/, jobs/, views/ or worker/', () => {
    expect(forbiddenChains(root, ['db'], ['server', 'jobs', 'views', 'worker'])).toEqual([]);
  });

  describe('the checker itself', () => {
    const fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-boundary-'));
    afterAll(() => fs.rmSync(fixture, { recursive: true, force: true }));
    const write = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(fixture, rel)), { recursive: true });
      fs.writeFileSync(path.join(fixture, rel), text);
    };
    write('server/app.ts', "import { a } from '../jobs/kind.ts';\nimport { z } from 'zod';\n");
    write('server/clean.ts', "import { z } from 'zod';\nimport { b } from '../jobs/clean';\n");
    write('views/page.tsx', "export { c } from '../jobs/lib/index.ts';\n");
    write('jobs/kind.ts', "import {\n  run,\n  other,\n} from '../worker/kinds/run.ts';\n");
    write('jobs/clean.ts', "import type { D } from './lib';\n");
    write('jobs/lib/index.ts', "export const c = 1;\nconst lazy = () => import('../../worker/host.ts');\n");
    write('worker/kinds/run.ts', "import '../../jobs/kind.ts';\n");
    write('worker/host.ts', 'export {};\n');

    it('names the whole chain of a planted transitive violation (multi-line, type, re-export, dynamic)', () => {
      expect(forbiddenChains(fixture, ['server', 'views'], ['worker']).sort()).toEqual([
        'server/app.ts -> jobs/kind.ts -> worker/kinds/run.ts',
        'server/clean.ts -> jobs/clean.ts -> jobs/lib/index.ts -> worker/host.ts',
        'views/page.tsx -> jobs/lib/index.ts -> worker/host.ts',
      ]);
    });

    it('finds nothing where no chain leads, through an import cycle too', () => {
      expect(forbiddenChains(fixture, ['server'], ['views'])).toEqual([]);
      expect(forbiddenChains(fixture, ['worker', 'jobs'], ['server', 'views'])).toEqual([]);
    });
  });
});
