import { z } from 'zod';
import { HostReadError } from '../../jobs/lib/host-reads.ts';

/**
 * Cursors are opaque to callers: base64url of a small JSON object. A file cursor names the file by
 * inode and device, so a rotated file is still found (as `<file>.1`) or recognised as gone.
 */
const fileCursor = z.strictObject({
  k: z.literal('f'),
  i: z.number().int().min(0),
  d: z.number().int().min(0),
  o: z.number().int().min(0),
});
const journalCursor = z.strictObject({
  k: z.literal('j'),
  c: z.string().max(1000).nullable(),
  /** With no entry yet: follow from this time (µs since the epoch). */
  t: z.number().int().min(0).optional(),
});
const anyCursor = z.discriminatedUnion('k', [fileCursor, journalCursor]);

export type FileCursor = z.infer<typeof fileCursor>;
export type JournalCursor = z.infer<typeof journalCursor>;

export const encodeCursor = (c: FileCursor | JournalCursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

function decode(text: string, field: string): FileCursor | JournalCursor {
  try {
    return anyCursor.parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
  } catch {
    throw new HostReadError(400, 'invalid_request', `${field} is not a cursor from an earlier answer`, {
      fieldErrors: { [field]: ['not a cursor from an earlier answer'] },
    });
  }
}

export function decodeFileCursor(text: string, field: string): FileCursor {
  const c = decode(text, field);
  if (c.k !== 'f') throw new HostReadError(400, 'invalid_request', `${field} is a cursor of another source`);
  return c;
}

export function decodeJournalCursor(text: string, field: string): JournalCursor {
  const c = decode(text, field);
  if (c.k !== 'j') throw new HostReadError(400, 'invalid_request', `${field} is a cursor of another source`);
  return c;
}
