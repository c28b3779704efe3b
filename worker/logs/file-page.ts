import type { LogLine, LogPage } from '../../jobs/lib/log-query.ts';
import { realDirOf } from '../safe-fs.ts';
import { linesBackward } from './backward-reader.ts';
import { decodeFileCursor, encodeCursor, type FileCursor } from './cursor.ts';
import { judgeLine, type LineFilter } from './line-filter.ts';
import { type OpenLog, openExistingLog, openLogFile } from './open-log.ts';

/** Bytes one page may read: a grep with no hits on a 2 GB log answers with a cursor to go on, not never. */
export const MAX_SCAN_BYTES = 32 * 1024 * 1024;

const cursorOf = (log: OpenLog, o: number): FileCursor => ({ k: 'f', i: log.stat.ino, d: log.stat.dev, o });

/** The file a cursor was made on: the live file, or the one rotation moved to `<file>.1`; null if gone. */
export async function openByCursor(file: string, c: FileCursor, allowed: readonly string[]): Promise<OpenLog | null> {
  for (const candidate of [file, `${file}.1`]) {
    const log = await openLogFile(candidate, allowed);
    if (!log) continue;
    if (log.stat.ino === c.i && log.stat.dev === c.d) return log;
    await log.fh.close();
  }
  return null;
}

const liveReal = (file: string, allowed: readonly string[]) => realDirOf(file, allowed).catch(() => null);

/** The end of `<file>.1`, where paging goes on once the live file's start is reached; null if none. */
async function rotatedEnd(file: string, allowed: readonly string[]): Promise<FileCursor | null> {
  const rotated = await openLogFile(`${file}.1`, allowed).catch(() => null);
  if (!rotated) return null;
  await rotated.fh.close();
  return rotated.stat.size > 0 ? cursorOf(rotated, rotated.stat.size) : null;
}

export interface FilePageResult extends LogPage {
  /** Where following this file starts: its end at the time of this read (newest page only). */
  followCursor: string | null;
}

/** Newest lines first, from the end of the file or before a cursor, filtered; bounded by `maxScan`. */
export async function pageFile(
  source: string,
  file: string,
  allowed: readonly string[],
  q: { before?: string; limit: number },
  filter: LineFilter,
  maxScan = MAX_SCAN_BYTES,
): Promise<FilePageResult> {
  const before = q.before ? decodeFileCursor(q.before, 'before') : null;
  const log = before ? await openByCursor(file, before, allowed) : await openExistingLog(file, allowed);
  // The file a cursor was made on is gone (rotated twice): nothing older is left to show.
  if (!log) return { source, lines: [], nextCursor: null, followCursor: null };
  try {
    const end = Math.min(before ? before.o : log.stat.size, log.stat.size);
    const scan = { scanned: 0, resumeAt: end };
    const lines: LogLine[] = [];
    let done = false;
    for await (const raw of linesBackward(log.fh, end, maxScan, scan)) {
      const { line, older } = judgeLine(filter, raw.text);
      if (older) {
        done = true;
        break;
      }
      if (line) lines.push(line);
      if (lines.length >= q.limit) break;
    }
    let next: FileCursor | null = !done && scan.resumeAt > 0 ? cursorOf(log, scan.resumeAt) : null;
    // At the start of the live file, older lines go on in the file rotation left as `<file>.1`.
    if (!done && scan.resumeAt === 0 && log.real === (await liveReal(file, allowed)))
      next = await rotatedEnd(file, allowed);
    return {
      source,
      lines,
      nextCursor: next ? encodeCursor(next) : null,
      followCursor: before ? null : encodeCursor(cursorOf(log, log.stat.size)),
    };
  } finally {
    await log.fh.close();
  }
}
