import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { HostReadError } from '../../jobs/lib/host-reads.ts';
import type { LogFollow, LogLevel, LogLine, LogPage } from '../../jobs/lib/log-query.ts';
import { decodeJournalCursor, encodeCursor } from './cursor.ts';
import type { LineFilter } from './line-filter.ts';
import { priorityLevel } from './line-parse.ts';

/** Bytes of journalctl output one read takes at most. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const JOURNAL_TIMEOUT_MS = 4000;

export class JournalUnavailableError extends HostReadError {
  override name = 'JournalUnavailableError';
  constructor(message: string) {
    super(409, 'journal_unavailable', message);
  }
}

export interface JournalEntry {
  cursor: string;
  line: LogLine;
}

/** MESSAGE is a string, or an array of bytes when it is not valid UTF-8 (or null when too big). */
function messageText(m: unknown): string {
  if (typeof m === 'string') return m;
  if (Array.isArray(m)) return Buffer.from(m.filter((b) => Number.isInteger(b))).toString('utf8');
  return '';
}

/** One line of `journalctl -o json` as a log line, or null if it is not an entry. */
export function parseJournalLine(json: string): JournalEntry | null {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof e?.__CURSOR !== 'string') return null;
  const micros = Number(e.__REALTIME_TIMESTAMP);
  const line: LogLine = {
    at: Number.isFinite(micros) && micros > 0 ? new Date(Math.floor(micros / 1000)).toISOString() : null,
    text: messageText(e.MESSAGE),
  };
  const level = priorityLevel(e.PRIORITY);
  if (level) line.level = level;
  return { cursor: e.__CURSOR, line };
}

const PRIORITY_OF: Record<LogLevel, string> = { error: '0..3', warn: '0..4', info: '0..6', debug: '0..7' };
const journalTime = (ms: number) => `@${Math.floor(ms / 1000)}`;

/** journalctl's own filters for ours: it greps, filters by time and priority, so only matches come back. */
function filterArgs(f: LineFilter, grep: string | undefined, regex: boolean): string[] {
  const args: string[] = [];
  if (f.since !== null) args.push(`--since=${journalTime(f.since)}`);
  if (f.until !== null) args.push(`--until=${journalTime(f.until)}`);
  if (f.level) args.push(`--priority=${PRIORITY_OF[f.level]}`);
  if (grep) args.push(`--grep=${regex ? grep : grep.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, '--case-sensitive=false');
  return args;
}

/** Runs journalctl (argv, no shell) and returns its first `max` entries; a missing journal is a 409. */
async function runJournal(args: string[], max: number): Promise<JournalEntry[]> {
  const child = spawn('journalctl', ['--no-pager', '-o', 'json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const entries: JournalEntry[] = [];
  let stderr = '';
  let bytes = 0;
  const timer = setTimeout(() => child.kill('SIGKILL'), JOURNAL_TIMEOUT_MS);
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 2000) stderr += d.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; err?: NodeJS.ErrnoException }>((resolve) => {
    child.on('error', (err) => resolve({ code: null, err }));
    child.on('close', (code) => resolve({ code }));
  });
  try {
    for await (const text of readline.createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY })) {
      bytes += text.length;
      const entry = parseJournalLine(text);
      if (entry) entries.push(entry);
      if (entries.length >= max || bytes > MAX_OUTPUT_BYTES) break;
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    clearTimeout(timer);
  }
  const { code, err } = await exited;
  if (err?.code === 'ENOENT') throw new JournalUnavailableError('journalctl is not installed on this host');
  if (err) throw err;
  if (code !== 0 && code !== null && entries.length === 0) {
    const why = stderr.split('\n').find((l) => l.trim()) ?? `journalctl exited with ${code}`;
    throw new JournalUnavailableError(`the journal cannot be read here: ${why.slice(0, 200)}`);
  }
  return entries;
}

/** A page of a unit's journal, newest first; `before` is the journal cursor of the oldest line shown. */
export async function pageJournal(
  source: string,
  unit: string,
  q: { before?: string; limit: number; grep?: string; regex?: '0' | '1' },
  f: LineFilter,
): Promise<LogPage & { followCursor: string | null }> {
  const before = q.before ? decodeJournalCursor(q.before, 'before') : null;
  const args = [`--unit=${unit}`, '--reverse', `--lines=${q.limit}`, ...filterArgs(f, q.grep, q.regex === '1')];
  if (before?.c) args.push(`--after-cursor=${before.c}`);
  const entries = await runJournal(args, q.limit);
  const oldest = entries.at(-1);
  const newest = entries[0];
  return {
    source,
    lines: entries.map((e) => e.line),
    nextCursor: entries.length >= q.limit && oldest ? encodeCursor({ k: 'j', c: oldest.cursor }) : null,
    followCursor: before
      ? null
      : encodeCursor(newest ? { k: 'j', c: newest.cursor } : { k: 'j', c: null, t: Date.now() * 1000 }),
  };
}

/** Entries after a journal cursor, oldest first; without one, nothing yet and a cursor at the newest entry. */
export async function followJournal(
  source: string,
  unit: string,
  q: { after?: string; limit: number; grep?: string; regex?: '0' | '1' },
  f: LineFilter,
): Promise<LogFollow> {
  if (!q.after) {
    const [last] = await runJournal([`--unit=${unit}`, '--lines=1'], 1);
    const cursor = last ? { k: 'j' as const, c: last.cursor } : { k: 'j' as const, c: null, t: Date.now() * 1000 };
    return { source, lines: [], cursor: encodeCursor(cursor) };
  }
  const after = decodeJournalCursor(q.after, 'after');
  const from = after.c ? [`--after-cursor=${after.c}`] : [`--since=@${Math.floor((after.t ?? 0) / 1e6)}`];
  const entries = await runJournal([`--unit=${unit}`, ...from, ...filterArgs(f, q.grep, q.regex === '1')], q.limit);
  const last = entries.at(-1);
  return {
    source,
    lines: entries.map((e) => e.line),
    cursor: last ? encodeCursor({ k: 'j', c: last.cursor }) : q.after,
  };
}
