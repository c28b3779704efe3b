/**
 * The grep of a log read, shared by the worker (which lines) and the views (what to <mark>).
 * JavaScript's RegExp backtracks, so a pattern that could take exponential time is refused up
 * front, and a regex only ever sees the first MATCH_CHARS of a line.
 */
export const MATCH_CHARS = 4096;

export class UnsafePatternError extends Error {
  override name = 'UnsafePatternError';
}

// A quantified group that itself holds a quantifier (`(a+)+`, `(x*y)*`, `(a|aa){2,}`), or a backreference.
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*(?:[+*}]|\|)(?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,)/;
const BACKREFERENCE = /\\[1-9]|\\k</;

export function compileMatcher(grep: string, regex: boolean): RegExp {
  if (!regex) return new RegExp(grep.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
  if (NESTED_QUANTIFIER.test(grep) || BACKREFERENCE.test(grep))
    throw new UnsafePatternError('nested quantifiers and backreferences are not allowed in a log regex');
  try {
    return new RegExp(grep, 'gi');
  } catch (err) {
    throw new UnsafePatternError(`not a valid regular expression: ${(err as Error).message}`);
  }
}

export function lineMatches(re: RegExp, text: string): boolean {
  re.lastIndex = 0;
  return re.test(text.length > MATCH_CHARS ? text.slice(0, MATCH_CHARS) : text);
}

/** The line cut into plain and matched pieces, for highlighting; empty matches are skipped. */
export function matchPieces(re: RegExp, text: string): { text: string; match: boolean }[] {
  const pieces: { text: string; match: boolean }[] = [];
  const head = text.slice(0, MATCH_CHARS);
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(head); m; m = re.exec(head)) {
    if (m[0] === '') {
      re.lastIndex++;
      continue;
    }
    if (m.index > last) pieces.push({ text: text.slice(last, m.index), match: false });
    pieces.push({ text: m[0], match: true });
    last = m.index + m[0].length;
  }
  if (last < text.length) pieces.push({ text: text.slice(last), match: false });
  return pieces;
}
