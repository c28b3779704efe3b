import { HostReadError } from '../../jobs/lib/host-reads.ts';
import { compileMatcher, lineMatches, UnsafePatternError } from '../../jobs/lib/log-match.ts';
import { type LogLevel, type LogLine, logLevels, parseLogTime } from '../../jobs/lib/log-query.ts';
import { lineLevel, lineTime } from './line-parse.ts';

export interface FilterParams {
  grep?: string;
  regex?: '0' | '1';
  level?: LogLevel;
  since?: string;
  until?: string;
}

export interface LineFilter {
  matcher: RegExp | null;
  /** The least severe level shown: `warn` shows warnings and errors. */
  level: LogLevel | null;
  since: number | null;
  until: number | null;
}

export function buildFilter(p: FilterParams, now = Date.now()): LineFilter {
  let matcher: RegExp | null = null;
  if (p.grep) {
    try {
      matcher = compileMatcher(p.grep, p.regex === '1');
    } catch (err) {
      if (!(err instanceof UnsafePatternError)) throw err;
      throw new HostReadError(400, 'invalid_request', err.message, { fieldErrors: { grep: [err.message] } });
    }
  }
  const since = p.since ? parseLogTime(p.since, now) : null;
  const until = p.until ? parseLogTime(p.until, now) : null;
  if (since !== null && until !== null && since > until)
    throw new HostReadError(400, 'invalid_request', 'since is after until', {
      fieldErrors: { since: ['after until'] },
    });
  return { matcher, level: p.level ?? null, since, until };
}

export const atLeast = (level: LogLevel | undefined, min: LogLevel) =>
  level !== undefined && logLevels.indexOf(level) <= logLevels.indexOf(min);

/**
 * One line read backwards, judged: `line` when shown, and `older` true once a line is older than
 * `since` (lines are in time order, so nothing before it can match). Lines without a known time
 * pass the time filter: they are mostly continuations (stack traces) of a timed line.
 */
export function judgeLine(f: LineFilter, text: string): { line: LogLine | null; older: boolean } {
  const t = lineTime(text);
  if (t !== null && f.since !== null && t < f.since) return { line: null, older: true };
  if (t !== null && f.until !== null && t > f.until) return { line: null, older: false };
  const level = lineLevel(text);
  if (f.level && !atLeast(level, f.level)) return { line: null, older: false };
  if (f.matcher && !lineMatches(f.matcher, text)) return { line: null, older: false };
  const line: LogLine = { at: t === null ? null : new Date(t).toISOString(), text };
  if (level) line.level = level;
  return { line, older: false };
}
