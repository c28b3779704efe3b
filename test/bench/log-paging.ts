/**
 * Log paging through the worker's reader (DESIGN §8 `log_page_ms_2gb`): a ~2 GB and a 2 MB access
 * log of real lines, the newest 200 lines and a grep page of each. Prints one JSON object; run
 * alone (`node --import tsx test/bench/log-paging.ts`) or from run.ts, in its own process so its
 * peak RSS is the reader's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pageFile } from '../../worker/logs/file-page.ts';
import { buildFilter } from '../../worker/logs/line-filter.ts';

const MiB = 1024 * 1024;
const RUNS = 15;

/** About 1 MiB of combined-format lines; one in the whole buffer mentions /rare. */
function lineBuffer(): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < MiB - 300; i++) {
    const p = i === 1000 ? '/rare/thing' : `/shop/item/${i}?ref=${(i * 7919) % 1000}`;
    const line = `10.0.${i % 256}.${(i * 13) % 256} - - [24/Nov/2026:08:${String(i % 60).padStart(2, '0')}:00 +0000] "GET ${p} HTTP/1.1" 200 ${512 + (i % 4096)} "-" "Mozilla/5.0 (bench)"\n`;
    lines.push(line);
    size += Buffer.byteLength(line);
  }
  return Buffer.from(lines.join(''));
}

function writeLog(file: string, bytes: number, buf: Buffer): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (let written = 0; written < bytes; written += buf.length) fs.writeSync(fd, buf);
  } finally {
    fs.closeSync(fd);
  }
}

async function median(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(RUNS / 2)]! * 100) / 100;
}

export async function measureLogPaging() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-bench-logs-'));
  try {
    const buf = lineBuffer();
    const big = path.join(dir, 'big.log');
    const small = path.join(dir, 'small.log');
    const t0 = performance.now();
    writeLog(big, 2048 * MiB, buf);
    const writeMs = performance.now() - t0;
    writeLog(small, 2 * MiB, buf);
    const allowed = [dir];
    const newest = (file: string) => () => pageFile('bench', file, allowed, { limit: 200 }, buildFilter({}));
    const grep = (file: string) => () =>
      pageFile('bench', file, allowed, { limit: 200 }, buildFilter({ grep: '/rare/', regex: '0' }));
    const rssBefore = process.resourceUsage().maxRSS;
    const page2mb = await median(newest(small));
    const page2gb = await median(newest(big));
    const grep2mb = await median(grep(small));
    const grep2gb = await median(grep(big));
    const grepPage = await grep(big)();
    const rssAfter = process.resourceUsage().maxRSS;
    return {
      log_file_bytes_2gb: fs.statSync(big).size,
      log_write_s_2gb: Math.round(writeMs / 10) / 100,
      log_page_ms_2mb: page2mb,
      log_page_ms_2gb: page2gb,
      log_grep_page_ms_2mb: grep2mb,
      log_grep_page_ms_2gb: grep2gb,
      log_grep_page_lines_2gb: grepPage.lines.length,
      log_grep_page_has_cursor_2gb: grepPage.nextCursor !== null,
      log_reader_peak_rss_delta_mb: Math.round(((rssAfter - rssBefore) / 1024) * 10) / 10,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await measureLogPaging()));
