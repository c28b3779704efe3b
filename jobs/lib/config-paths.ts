import path from 'node:path';
import type { ConfigsSpec } from './targets.ts';

/**
 * Which files a target's `configs` section covers (DESIGN §10). Both tiers use it: the web
 * tier to refuse a path with a 400 before asking a worker, the worker again before it reads
 * or writes. Globs are `*` and `?` in the last component only.
 */

const globToRegExp = (glob: string) =>
  new RegExp(
    `^${glob
      .split('')
      .map((ch) => (ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
      .join('')}$`,
  );

/** The glob's directory and a test for a file name in it. */
export function globParts(glob: string): { dir: string; matches(name: string): boolean } {
  const re = globToRegExp(path.basename(glob));
  return { dir: path.dirname(glob), matches: (name) => !name.startsWith('.') && re.test(name) };
}

/**
 * True if `file`, as given (absolute, normal form, no `..`), is one of the section's files:
 * in a glob's directory with a name the glob matches. Hidden names (`.x`) never match: that is
 * where Deckhand's own temporary files live while they are written.
 */
export function isConfigPath(spec: ConfigsSpec, file: string): boolean {
  if (!path.isAbsolute(file) || path.normalize(file) !== file || /[\0\n]/.test(file)) return false;
  return spec.files.some((glob) => {
    const g = globParts(glob);
    return path.dirname(file) === g.dir && g.matches(path.basename(file));
  });
}
