import type { FileHandle } from 'node:fs/promises';

/** Blocks read from the end of a log toward its start: never the whole file. */
export const BLOCK_BYTES = 64 * 1024;
/** A longer line is cut to its first this-many bytes (its tail is still skipped past, block by block). */
export const MAX_LINE_BYTES = 16 * 1024;

export interface RawLine {
  text: string;
  /** Byte offset of the line's first byte: reading again "before" it continues with older lines. */
  start: number;
}

/** Where a backward scan stands: `resumeAt` is the end of the content not yet turned into lines. */
export interface BackwardScan {
  scanned: number;
  resumeAt: number;
}

/**
 * The lines of `[0, end)`, newest first, read backwards in fixed blocks. Stops at the start of the
 * file, or once `maxScan` bytes were read; `scan.resumeAt` then says where a later read continues
 * (always a line boundary, so no line is cut or repeated).
 */
export async function* linesBackward(
  fh: FileHandle,
  end: number,
  maxScan: number,
  scan: BackwardScan,
): AsyncGenerator<RawLine> {
  let pos = end;
  // The tail of the line being assembled; its head may still lie in an older block.
  let carry = Buffer.alloc(0);
  scan.resumeAt = end;
  const block = Buffer.allocUnsafe(BLOCK_BYTES);
  while (pos > 0) {
    if (scan.scanned >= maxScan) {
      // One line longer than the whole budget: continue mid-line rather than never moving.
      if (scan.resumeAt === end) scan.resumeAt = pos;
      return;
    }
    const size = Math.min(BLOCK_BYTES, pos);
    const atEnd = pos === end;
    pos -= size;
    const { bytesRead } = await fh.read(block, 0, size, pos);
    scan.scanned += bytesRead;
    if (bytesRead < size) return; // truncated under us: the caller's next read starts over
    const chunk = block.subarray(0, size);
    // The newline that ends the file ends its last line; it does not start an empty one.
    let lineEnd = atEnd && chunk[size - 1] === 0x0a ? size - 1 : size;
    while (lineEnd > 0) {
      const nl = chunk.lastIndexOf(0x0a, lineEnd - 1);
      if (nl < 0) break;
      const head = chunk.subarray(nl + 1, lineEnd);
      const start = pos + nl + 1;
      const text = decode(carry.length > 0 ? Buffer.concat([head, carry]) : head);
      // Set before yielding: a consumer that stops after this line never resumes the generator.
      scan.resumeAt = start;
      yield { text, start };
      carry = Buffer.alloc(0);
      lineEnd = nl;
    }
    if (lineEnd > 0) {
      carry = Buffer.concat([chunk.subarray(0, lineEnd), carry]);
      if (carry.length > MAX_LINE_BYTES) carry = Buffer.from(carry.subarray(0, MAX_LINE_BYTES));
    }
  }
  if (scan.resumeAt > 0) {
    scan.resumeAt = 0;
    yield { text: decode(carry), start: 0 };
  }
}

function decode(bytes: Buffer): string {
  const text = (bytes.length > MAX_LINE_BYTES ? bytes.subarray(0, MAX_LINE_BYTES) : bytes).toString('utf8');
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}
