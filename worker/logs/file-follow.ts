import type { LogFollow, LogLine } from '../../jobs/lib/log-query.ts';
import { MAX_LINE_BYTES } from './backward-reader.ts';
import { decodeFileCursor, encodeCursor } from './cursor.ts';
import { judgeLine, type LineFilter } from './line-filter.ts';
import { type OpenLog, openExistingLog, openLogFile } from './open-log.ts';

/** Bytes one follow read returns at most; the cursor then points at the rest. */
export const FOLLOW_MAX_BYTES = 1024 * 1024;

/** Complete lines of `log` from `from` on (oldest first), at most `limit` and FOLLOW_MAX_BYTES; and where they end. */
async function readForward(log: OpenLog, from: number, limit: number, filter: LineFilter) {
  const size = Math.min(log.stat.size - from, FOLLOW_MAX_BYTES);
  const buf = Buffer.alloc(Math.max(0, size));
  const { bytesRead } = size > 0 ? await log.fh.read(buf, 0, size, from) : { bytesRead: 0 };
  const lines: LogLine[] = [];
  let pos = 0;
  while (lines.length < limit) {
    let nl = buf.indexOf(0x0a, pos);
    // A line longer than a whole read is passed on cut, so the cursor always moves.
    if (nl < 0 || nl >= bytesRead) {
      if (pos > 0 || bytesRead < FOLLOW_MAX_BYTES) break;
      nl = bytesRead;
    }
    const text = buf.subarray(pos, Math.min(nl, pos + MAX_LINE_BYTES)).toString('utf8');
    const { line } = judgeLine(filter, text.endsWith('\r') ? text.slice(0, -1) : text);
    if (line) lines.push(line);
    pos = nl + 1;
  }
  return { lines, next: from + Math.min(pos, bytesRead) };
}

/**
 * The lines written since `after`, oldest first, and a new cursor. Rotation is followed: a new
 * inode at the path (logrotate `create`) means the rest of the old file, found as `<file>.1`,
 * then the new one from its start; a file shorter than the cursor (`copytruncate`) means the rest
 * of its copy `<file>.1`, then the live file from its start (lines written between the copy and the
 * truncation are lost to every reader: that is copytruncate's own gap). Without `after`, nothing
 * yet: the cursor is the file's end.
 */
export async function followFile(
  source: string,
  file: string,
  allowed: readonly string[],
  q: { after?: string; limit: number },
  filter: LineFilter,
): Promise<LogFollow> {
  const live = await openExistingLog(file, allowed);
  try {
    const here = (o: number) => encodeCursor({ k: 'f', i: live.stat.ino, d: live.stat.dev, o });
    if (!q.after) return { source, lines: [], cursor: here(live.stat.size) };
    const after = decodeFileCursor(q.after, 'after');
    const same = live.stat.ino === after.i && live.stat.dev === after.d;
    if (same && live.stat.size >= after.o) {
      const { lines, next } = await readForward(live, after.o, q.limit, filter);
      return { source, lines, cursor: here(next) };
    }
    const lines: LogLine[] = [];
    const rotated = await openLogFile(`${file}.1`, allowed);
    if (rotated) {
      try {
        // create: the old inode now at `.1`; copytruncate: `.1` is a copy of what the live file held.
        const moved = rotated.stat.ino === after.i && rotated.stat.dev === after.d;
        if ((moved || same) && rotated.stat.size > after.o) {
          const rest = await readForward(rotated, after.o, q.limit, filter);
          lines.push(...rest.lines);
          // More of the old file than one read: stay on it.
          if (rest.next < rotated.stat.size) {
            const onRotated = { k: 'f' as const, i: rotated.stat.ino, d: rotated.stat.dev, o: rest.next };
            return { source, lines, cursor: encodeCursor(onRotated) };
          }
        }
      } finally {
        await rotated.fh.close();
      }
    }
    const fresh = await readForward(live, 0, q.limit - lines.length, filter);
    lines.push(...fresh.lines);
    return { source, lines, cursor: here(fresh.next) };
  } finally {
    await live.fh.close();
  }
}
