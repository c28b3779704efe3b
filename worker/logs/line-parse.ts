import type { LogLevel } from '../../jobs/lib/log-query.ts';

/** When a log line says it happened, for the formats whose leading timestamp is known; else null. */

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

// nginx access (combined): `1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET ...`
const NGINX_ACCESS = /^\S+ \S+ \S+ \[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\]/;
// nginx error: `2024/01/02 03:04:05 [error] 123#0: ...` (local time of the host)
const NGINX_ERROR = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[(\w+)\]/;
// ISO-8601 at the start: `2024-01-02T03:04:05.123Z`, `2024-01-02 03:04:05,123+01:00`
const ISO = /^\[?(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?/;
// syslog: `Jan  2 03:04:05 host prog[1]: ...` (no year: the latest such time not in the future)
const SYSLOG = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) /;

export function lineTime(text: string, now = Date.now()): number | null {
  let m = NGINX_ACCESS.exec(text);
  if (m) {
    const month = MONTHS[m[2]!];
    if (month === undefined) return null;
    const utc = Date.UTC(+m[3]!, month, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
    const offset = (m[7] === '-' ? -1 : 1) * (+m[8]! * 60 + +m[9]!) * 60_000;
    return utc - offset;
  }
  m = NGINX_ERROR.exec(text);
  if (m) return new Date(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!).getTime();
  m = ISO.exec(text);
  if (m) {
    const frac = m[3] ? `.${m[3].slice(0, 3)}` : '';
    const zone = m[4] ? (m[4] === 'Z' || m[4].includes(':') ? m[4] : `${m[4].slice(0, 3)}:${m[4].slice(3)}`) : '';
    const t = Date.parse(`${m[1]}T${m[2]}${frac}${zone}`);
    return Number.isNaN(t) ? null : t;
  }
  m = SYSLOG.exec(text);
  if (m) {
    const month = MONTHS[m[1]!];
    if (month === undefined) return null;
    const year = new Date(now).getFullYear();
    const t = new Date(year, month, +m[2]!, +m[3]!, +m[4]!, +m[5]!).getTime();
    return t > now + 86_400_000 ? new Date(year - 1, month, +m[2]!, +m[3]!, +m[4]!, +m[5]!).getTime() : t;
  }
  return null;
}

const NGINX_LEVELS: Record<string, LogLevel> = {
  emerg: 'error',
  alert: 'error',
  crit: 'error',
  error: 'error',
  warn: 'warn',
  notice: 'info',
  info: 'info',
  debug: 'debug',
};
const TOKEN = /\b(FATAL|CRITICAL|ERROR|WARN(?:ING)?|INFO|DEBUG|TRACE)\b/;
const TOKEN_LEVELS: Record<string, LogLevel> = {
  FATAL: 'error',
  CRITICAL: 'error',
  ERROR: 'error',
  WARN: 'warn',
  WARNING: 'warn',
  INFO: 'info',
  DEBUG: 'debug',
  TRACE: 'debug',
};

/** The level a line states, where its format is known: nginx's error levels, or an ERROR/WARN/... token early on. */
export function lineLevel(text: string): LogLevel | undefined {
  const nginx = NGINX_ERROR.exec(text);
  if (nginx) return NGINX_LEVELS[nginx[7]!];
  const token = TOKEN.exec(text.slice(0, 200));
  return token ? TOKEN_LEVELS[token[1]!] : undefined;
}

/** journald's PRIORITY (syslog severities 0-7) as a level. */
export function priorityLevel(priority: unknown): LogLevel | undefined {
  const p = Number(priority);
  if (!Number.isInteger(p) || p < 0 || p > 7) return undefined;
  return p <= 3 ? 'error' : p === 4 ? 'warn' : p <= 6 ? 'info' : 'debug';
}
