import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogPage } from '../jobs/lib/log-query.ts';
import { pageFile } from '../worker/logs/file-page.ts';
import { parseJournalLine } from '../worker/logs/journal.ts';
import { buildFilter } from '../worker/logs/line-filter.ts';
import { api, eventually, type Harness, harness } from './support/app.ts';
import { stopChild } from './support/process.ts';
import { scratchDir, supervisordConfig } from './support/services.ts';

describe("the worker's backward log reader on real files", () => {
  let dir: string;
  beforeAll(() => {
    dir = scratchDir('reader');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Every page of `file` with `limit`, newest first, following nextCursor to the start. */
  async function allPages(file: string, limit: number, filter = buildFilter({}), maxScan?: number) {
    const pages: LogPage[] = [];
    let before: string | undefined;
    do {
      const p = await pageFile('t', file, [dir], { limit, ...(before ? { before } : {}) }, filter, maxScan);
      pages.push(p);
      before = p.nextCursor ?? undefined;
    } while (before && pages.length < 10_000);
    return pages;
  }

  it('pages every line exactly once across 64 KiB block edges, with or without a final newline', async () => {
    const lines = Array.from({ length: 6000 }, (_, i) => `line ${i} ${'x'.repeat((i * 7919) % 301)}`);
    for (const [name, text] of [
      ['nl.log', `${lines.join('\n')}\n`],
      ['no-nl.log', lines.join('\n')],
      ['crlf.log', `${lines.join('\r\n')}\r\n`],
    ] as const) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      const got = (await allPages(file, 997)).flatMap((p) => p.lines.map((l) => l.text));
      expect(got, name).toEqual([...lines].reverse());
    }
  });

  it('keeps an empty line, and cuts a 100 KiB line to its first 16 KiB without losing its neighbours', async () => {
    const file = path.join(dir, 'long.log');
    fs.writeFileSync(file, `first\n\n${'L'.repeat(100 * 1024)}\nlast\n`);
    const got = (await allPages(file, 2)).flatMap((p) => p.lines.map((l) => l.text));
    expect(got.map((t) => (t.startsWith('L') ? `L×${t.length}` : t))).toEqual(['last', `L×${16 * 1024}`, '', 'first']);
  });

  it('a grep with no hits stops at the scan bound with a cursor, and the cursors reach the one match at the start', async () => {
    const file = path.join(dir, 'big.log');
    const filler = `${'10.0.0.1 - - [24/Nov/2026:08:00:00 +0000] "GET /plain HTTP/1.1" 200 5\n'.repeat(16_000)}`;
    fs.writeFileSync(file, `needle here\n${filler.repeat(8)}`);
    const filter = buildFilter({ grep: 'needle' });
    const first = await pageFile('t', file, [dir], { limit: 200 }, filter, 1024 * 1024);
    expect(first.lines).toEqual([]);
    expect(first.nextCursor).not.toBeNull();
    const pages = await allPages(file, 200, filter, 1024 * 1024);
    expect(pages.length).toBeGreaterThan(5);
    expect(pages.flatMap((p) => p.lines.map((l) => l.text))).toEqual(['needle here']);
  });

  it('filters by time with the timestamps of nginx access and error logs and ISO-8601; untimed lines pass', async () => {
    const file = path.join(dir, 'times.log');
    fs.writeFileSync(
      file,
      [
        '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /old HTTP/1.1" 200 1',
        '2000-10-10T21:00:00Z app started',
        '  at a continuation line',
        '1.2.3.4 - - [10/Oct/2000:15:00:00 -0700] "GET /late HTTP/1.1" 200 1',
        '',
      ].join('\n'),
    );
    const read = async (since?: string, until?: string) =>
      (await pageFile('t', file, [dir], { limit: 10 }, buildFilter({ since, until }))).lines;
    const all = await read();
    expect(all.map((l) => l.at)).toEqual([
      '2000-10-10T22:00:00.000Z',
      null,
      '2000-10-10T21:00:00.000Z',
      '2000-10-10T20:55:36.000Z',
    ]);
    expect((await read('2000-10-10T21:00:00Z')).map((l) => l.at ?? l.text)).toEqual([
      '2000-10-10T22:00:00.000Z',
      '  at a continuation line',
      '2000-10-10T21:00:00.000Z',
    ]);
    expect((await read(undefined, '2000-10-10T21:30:00Z')).map((l) => l.at)).toEqual([
      null,
      '2000-10-10T21:00:00.000Z',
      '2000-10-10T20:55:36.000Z',
    ]);
  });

  it('parses fixed `journalctl -o json` lines (no journald runs in this container): time, text, level, binary messages', () => {
    const text = (s: string) => [...Buffer.from(s)];
    const e = parseJournalLine(
      JSON.stringify({
        __CURSOR: 's=abc;i=1',
        __REALTIME_TIMESTAMP: '1700000000123456',
        PRIORITY: '3',
        MESSAGE: 'boom',
      }),
    );
    expect(e).toEqual({ cursor: 's=abc;i=1', line: { at: '2023-11-14T22:13:20.123Z', text: 'boom', level: 'error' } });
    expect(parseJournalLine(JSON.stringify({ __CURSOR: 'c', PRIORITY: '4', MESSAGE: text('bytes é') }))?.line).toEqual({
      at: null,
      text: 'bytes é',
      level: 'warn',
    });
    expect(parseJournalLine(JSON.stringify({ __CURSOR: 'c', PRIORITY: '7', MESSAGE: null }))?.line.level).toBe('debug');
    expect(parseJournalLine('-- No entries --')).toBeNull();
  });
});

describe("a supervisor program's stdout log, found in its root-owned supervisord config", () => {
  let h: Harness;
  let dir: string;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    dir = scratchDir('sup-logs');
    h = await harness({ env: { DECKHAND_LOG_PATHS: dir } });
    await h.startWorker();
    const config = supervisordConfig(dir, [
      '[program:talker]',
      `command=/usr/bin/python3 -u -c "import time; print('hello from talker'); time.sleep(600)"`,
      `stdout_logfile=${dir}/%(program_name)s.out.log`,
      'autostart=true',
      'startsecs=0',
    ]);
    const proc = spawn('/usr/bin/supervisord', ['-c', config], { stdio: 'ignore' });
    stop = () => stopChild(proc);
    const admin = await h.user('admin');
    const put = await api(h, admin, 'PUT', '/api/targets/talker', {
      manager: 'supervisor',
      program: 'talker',
      configPath: config,
      logs: [
        { name: 'out', supervisor: 'stdout' },
        { name: 'err', supervisor: 'stderr' },
      ],
    });
    expect(put.status, put.text).toBe(201);
  });
  afterAll(async () => {
    await stop?.();
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the program output supervisord wrote; a stderr with no file of its own is a 409; an editable config is refused', async () => {
    const viewer = await h.user('viewer');
    const lines = await eventually(async () => {
      const r = await api(h, viewer, 'GET', '/api/targets/talker/logs?source=out');
      return r.status === 200 && r.json.lines.length > 0 ? r.json.lines : null;
    });
    expect(lines.map((l: { text: string }) => l.text)).toEqual(['hello from talker']);
    const err = await api(h, viewer, 'GET', '/api/targets/talker/logs?source=err');
    expect(err.status).toBe(409);
    expect(err.json.error.message).toContain('stderr_logfile');
    fs.chmodSync(path.join(dir, 'supervisord.conf'), 0o666);
    const refused = await api(h, viewer, 'GET', '/api/targets/talker/logs?source=out');
    expect(refused.status).toBe(403);
    expect(refused.json.error.message).toContain('writable by group or others');
  });
});
