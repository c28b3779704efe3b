import { z } from 'zod';
import { JobValidationError } from './errors.ts';
import { isManagedPath, logSourceName, type TargetSpec, targetName } from './targets.ts';

/**
 * What a log read asks for (DESIGN §10), shared by the web tier (a 400 naming the field) and the
 * worker (checked again before it opens anything). Cursors are opaque to everyone but the worker.
 */
export const LOG_LIMIT_DEFAULT = 200;
export const LOG_LIMIT_MAX = 5000;
export const logLevels = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof logLevels)[number];

const cursor = z
  .string()
  .max(2000)
  .regex(/^[A-Za-z0-9_-]+$/, 'a cursor from an earlier answer');

/** An ISO-8601 time, or a span back from now such as `90s`, `15m`, `1h`, `2d`. */
export const logTime = z
  .string()
  .max(40)
  .refine((s) => parseLogTime(s) !== null, 'an ISO-8601 time or a span such as 15m, 1h, 2d');

export function parseLogTime(s: string, now = Date.now()): number | null {
  const span = /^(\d{1,6})([smhd])$/.exec(s);
  if (span) return now - Number(span[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[span[2] as 's'];
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

export const logFilter = z.strictObject({
  source: logSourceName,
  grep: z.string().min(1).max(500).optional(),
  regex: z.enum(['0', '1']).default('0'),
  level: z.enum(logLevels).optional(),
  since: logTime.optional(),
  until: logTime.optional(),
});

export const logPageQuery = logFilter.extend({
  before: cursor.optional(),
  limit: z.coerce.number().int().min(1).max(LOG_LIMIT_MAX).default(LOG_LIMIT_DEFAULT),
});
export type LogPageQuery = z.infer<typeof logPageQuery>;

/** Follow takes the text and level filters too (a time range makes no sense for what is still to come). */
export const logFollowQuery = logFilter.omit({ since: true, until: true }).extend({
  after: cursor.optional(),
  limit: z.coerce.number().int().min(1).max(LOG_LIMIT_MAX).default(LOG_LIMIT_MAX),
});
export type LogFollowQuery = z.infer<typeof logFollowQuery>;

/** The params of a `log-page` / `log-follow` host read: the query plus the target it is about. */
export const logPageRead = logPageQuery.extend({ target: targetName });
export const logFollowRead = logFollowQuery.extend({ target: targetName });

export interface LogLine {
  at: string | null;
  text: string;
  level?: LogLevel;
}
export interface LogPage {
  source: string;
  lines: LogLine[];
  nextCursor: string | null;
}
export interface LogFollow {
  source: string;
  lines: LogLine[];
  cursor: string;
}

/**
 * A target's log sources must fit it when it is saved: files under DECKHAND_LOG_PATHS (checked
 * again on their real directory at each read), supervisor output only for supervisor targets.
 */
export function assertLogSources(spec: TargetSpec, logPaths: readonly string[]): void {
  const errors: Record<string, string[]> = {};
  spec.logs.forEach((s, i) => {
    if ('file' in s && !isManagedPath(s.file, logPaths))
      errors[`logs.${i}.file`] = [`${s.file} is not under ${logPaths.join(', ')}`];
    if ('supervisor' in s && spec.manager !== 'supervisor')
      errors[`logs.${i}.supervisor`] = ['only for supervisor targets'];
  });
  if (Object.keys(errors).length > 0)
    throw new JobValidationError('log sources that do not fit this target', { fieldErrors: errors });
}
