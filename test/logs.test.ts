import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, eventually, type Harness, harness, type TestUser } from './support/app.ts';
import { type LoggingNginx, logrotate, nginxTarget, startLoggingNginx } from './support/nginx-logs.ts';
import { scratchDir } from './support/services.ts';

type Line = { at: string | null; text: string; level?: string };
type Page = { source: string; lines: Line[]; nextCursor: string | null; followCursor?: string };

describe('logs of a real nginx: paging, grep, level, follow across logrotate, API rules, audit', () => {
  let h: Harness;
  let nginx: LoggingNginx;
  let dir: string;
  let viewer: TestUser;
  let admin: TestUser;

  const page = async (query: string, who = viewer) => {
    const r = await api(h, who, 'GET', `/api/targets/edge/logs?${query}`);
    expect(r.status, r.text).toBe(200);
    return r.json as Page;
  };
  const follow = async (query: string) => {
    const r = await api(h, viewer, 'GET', `/api/targets/edge/logs/follow?${query}`);
    expect(r.status, r.text).toBe(200);
    return r.json as { lines: Line[]; cursor: string };
  };
  const paths = (lines: Line[]) => lines.map((l) => /"GET (\S+)/.exec(l.text)?.[1]);
  /** Requests `paths` one by one and waits until nginx logged the last one. */
  const requests = async (...urls: string[]) => {
    for (const u of urls) await nginx.get(u);
    const last = urls.at(-1)!;
    await eventually(async () => fs.readFileSync(nginx.access, 'utf8').includes(`GET ${last} `), 5000, last);
  };
  /** Follows until `n` lines came, oldest first. */
  const followUntil = async (cursor: string, n: number) => {
    const got: Line[] = [];
    let c = cursor;
    await eventually(async () => {
      const f = await follow(`source=access&after=${c}`);
      got.push(...f.lines);
      c = f.cursor;
      return got.length >= n;
    });
    return { lines: got, cursor: c };
  };

  beforeAll(async () => {
    dir = scratchDir('logs');
    h = await harness({ env: { DECKHAND_LOG_PATHS: dir } });
    await h.startWorker();
    nginx = await startLoggingNginx(dir);
    viewer = await h.user('viewer');
    admin = await h.user('admin');
    const put = await api(
      h,
      admin,
      'PUT',
      '/api/targets/edge',
      nginxTarget(dir, [
        { name: 'access', file: nginx.access },
        { name: 'error', file: nginx.error },
        { name: 'planted', file: path.join(dir, 'planted.log') },
        { name: 'fifo', file: path.join(dir, 'fifo.log') },
        { name: 'outside', file: path.join(dir, 'etc-link', 'hostname') },
        { name: 'app', journal: 'deckhand-test-none.service' },
      ]),
    );
    expect(put.status, put.text).toBe(201);
    await requests(...Array.from({ length: 30 }, (_, i) => `/ok/p${i}`));
  });
  afterAll(async () => {
    await nginx?.stop();
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('pages newest first and goes older by cursor, each line once, with its time from the access log', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const p: Page = await page(`source=access&grep=/ok/p&limit=7${cursor ? `&before=${cursor}` : ''}`);
      expect(p.lines.length).toBeLessThanOrEqual(7);
      seen.push(...(paths(p.lines) as string[]));
      cursor = p.nextCursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `/ok/p${29 - i}`));
    const first = await page('source=access&limit=1');
    expect(Math.abs(Date.parse(first.lines[0]!.at!) - Date.now())).toBeLessThan(120_000);
  });

  it('greps fixed text and a regex, and refuses a regex that could backtrack for ever', async () => {
    const fixed = await page('source=access&grep=/ok/p2');
    expect(paths(fixed.lines)).toEqual([
      '/ok/p29',
      '/ok/p28',
      '/ok/p27',
      '/ok/p26',
      '/ok/p25',
      '/ok/p24',
      '/ok/p23',
      '/ok/p22',
      '/ok/p21',
      '/ok/p20',
      '/ok/p2',
    ]);
    const re = await page(`source=access&regex=1&grep=${encodeURIComponent('GET /ok/p1[0-2] ')}`);
    expect(paths(re.lines)).toEqual(['/ok/p12', '/ok/p11', '/ok/p10']);
    const bad = await api(
      h,
      viewer,
      'GET',
      `/api/targets/edge/logs?source=access&regex=1&grep=${encodeURIComponent('(a+)+$')}`,
    );
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.fieldErrors.grep).toBeDefined();
  });

  it('downloads the filtered range as a text attachment, oldest line first', async () => {
    const res = await h.app.request('/api/targets/edge/logs/download?source=access&grep=/ok/p1', {
      headers: { Authorization: `Bearer ${viewer.token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="edge-access.log"');
    const text = await res.text();
    expect(
      paths(
        text
          .trim()
          .split('\n')
          .map((t) => ({ at: null, text: t })),
      ),
    ).toEqual(['/ok/p1', ...Array.from({ length: 10 }, (_, i) => `/ok/p${10 + i}`)]);
  });

  it('filters the error log by level: nginx [error] lines for missing files, [notice] lines only from info on', async () => {
    await nginx.get('/files/missing-1');
    await eventually(async () => fs.readFileSync(nginx.error, 'utf8').includes('missing-1'));
    const errors = await page('source=error&level=error');
    expect(errors.lines.length).toBeGreaterThan(0);
    for (const l of errors.lines) expect(l.level).toBe('error');
    expect(errors.lines[0]!.text).toContain('missing-1');
    const all = await page('source=error&level=info');
    expect(all.lines.some((l) => l.level === 'info')).toBe(true);
  });

  it('follows while requests are made: the new lines, oldest first, each once', async () => {
    const start = await follow('source=access');
    expect(start.lines).toEqual([]);
    await requests('/ok/f1', '/ok/f2', '/ok/f3');
    const { lines, cursor } = await followUntil(start.cursor, 3);
    expect(paths(lines)).toEqual(['/ok/f1', '/ok/f2', '/ok/f3']);
    expect((await follow(`source=access&after=${cursor}`)).lines).toEqual([]);
    // With a grep, only the matching new lines come, and the cursor still moves past the others.
    await requests('/ok/f4', '/ok/match-5', '/ok/f6');
    const grepped = await follow(`source=access&grep=match&after=${cursor}`);
    expect(paths(grepped.lines)).toEqual(['/ok/match-5']);
    expect((await follow(`source=access&after=${grepped.cursor}`)).lines).toEqual([]);
  });

  it('follows across a real logrotate with copytruncate', async () => {
    const start = (await follow('source=access')).cursor;
    await requests('/ok/ct-before');
    await logrotate(dir, nginx.access, 'copytruncate');
    expect(fs.statSync(nginx.access).size).toBe(0);
    await requests('/ok/ct-after');
    const { lines } = await followUntil(start, 2);
    expect(paths(lines)).toEqual(['/ok/ct-before', '/ok/ct-after']);
  });

  it('follows across a real logrotate with create and nginx -s reopen', async () => {
    const start = (await follow('source=access')).cursor;
    await requests('/ok/cr-before');
    const oldInode = fs.statSync(nginx.access).ino;
    await logrotate(dir, nginx.access, 'create');
    expect(fs.statSync(nginx.access).ino).not.toBe(oldInode);
    // Until the reopen nginx still writes to the rotated file.
    await nginx.get('/ok/cr-between');
    await eventually(async () => fs.readFileSync(`${nginx.access}.1`, 'utf8').includes('cr-between'));
    await nginx.reopen();
    await eventually(async () => {
      await nginx.get('/ok/cr-after');
      return fs.readFileSync(nginx.access, 'utf8').includes('cr-after');
    });
    const { lines } = await followUntil(start, 3);
    expect(paths(lines).slice(0, 3)).toEqual(['/ok/cr-before', '/ok/cr-between', '/ok/cr-after']);
    // Paging older goes on from the live file's start into the rotated `.1`.
    const seen: string[] = [];
    let before = '';
    do {
      const p: Page = await page(`source=access&grep=/ok/cr-&limit=1${before ? `&before=${before}` : ''}`);
      seen.push(...(paths(p.lines) as string[]));
      before = p.nextCursor ?? '';
    } while (before);
    expect([...new Set(seen)]).toEqual(['/ok/cr-after', '/ok/cr-between', '/ok/cr-before']);
  });

  it('answers 400 naming the field for bad params, 404 for an unknown source or target', async () => {
    const bad = async (query: string, field: string) => {
      const r = await api(h, viewer, 'GET', `/api/targets/edge/logs?${query}`);
      expect(r.status, query).toBe(400);
      expect(JSON.stringify(r.json.error.details), query).toContain(field);
    };
    await bad('source=access&foo=1', 'foo');
    await bad('source=access&limit=5001', 'limit');
    await bad('source=access&limit=x', 'limit');
    await bad('source=access&level=loud', 'level');
    await bad('source=access&regex=2', 'regex');
    await bad('source=access&since=yesterday', 'since');
    await bad('source=access&before=not*a*cursor', 'before');
    await bad('source=access&before=eyJrIjoieCJ9', 'before');
    await bad('source=access&grep=a&grep=b', 'grep');
    await bad('source=Bad/Name', 'source');
    const follow400 = await api(h, viewer, 'GET', '/api/targets/edge/logs/follow?source=access&since=1h');
    expect(follow400.status).toBe(400);
    expect(JSON.stringify(follow400.json.error.details)).toContain('since');
    expect((await api(h, viewer, 'GET', '/api/targets/edge/logs?source=nope')).status).toBe(404);
    expect((await api(h, viewer, 'GET', '/api/targets/ghost/logs?source=access')).status).toBe(404);
  });

  it('refuses a planted symlink, a FIFO and a file whose real directory is outside DECKHAND_LOG_PATHS; a journal source with no journal does not crash', async () => {
    fs.symlinkSync('/etc/shadow', path.join(dir, 'planted.log'));
    execFileSync('mkfifo', [path.join(dir, 'fifo.log')]);
    // A planted directory symlink: the path reads as under DECKHAND_LOG_PATHS, its real directory is /etc.
    fs.symlinkSync('/etc', path.join(dir, 'etc-link'));
    for (const source of ['planted', 'fifo', 'outside']) {
      const r = await api(h, viewer, 'GET', `/api/targets/edge/logs?source=${source}`);
      expect(r.status, source).toBe(403);
      expect(r.json.error.code).toBe('log_refused');
      expect(r.text).not.toContain('root:');
    }
    const journal = await api(h, viewer, 'GET', '/api/targets/edge/logs?source=app');
    expect([200, 409]).toContain(journal.status);
    if (journal.status === 200) expect(journal.json.lines).toEqual([]);
    else expect(journal.json.error.code).toBe('journal_unavailable');
  });

  it('a target is saved only with log files under DECKHAND_LOG_PATHS, and supervisor output only on supervisor targets', async () => {
    const put = await api(h, admin, 'PUT', '/api/targets/edge2', {
      manager: 'signal',
      pidfile: path.join(dir, 'nginx.pid'),
      match: { exe: '/usr/sbin/nginx' },
      logs: [
        { name: 'shadow', file: '/etc/shadow' },
        { name: 'out', supervisor: 'stdout' },
      ],
    });
    expect(put.status).toBe(400);
    expect(Object.keys(put.json.error.details.fieldErrors)).toEqual(['logs.0.file', 'logs.1.supervisor']);
    const unknown = await api(h, admin, 'PUT', '/api/targets/edge2', {
      manager: 'signal',
      pidfile: path.join(dir, 'nginx.pid'),
      match: { exe: '/usr/sbin/nginx' },
      logs: [{ name: 'a', file: nginx.access, follow: true }],
    });
    expect(unknown.status).toBe(400);
  });

  it('a target on a host no worker serves: the Logs page says so instead of hanging', async () => {
    const put = await api(
      h,
      admin,
      'PUT',
      '/api/targets/far',
      nginxTarget(dir, [{ name: 'access', file: nginx.access }]),
    );
    expect(put.status, put.text).toBe(201);
    await h.database.pool.query("UPDATE targets SET host = 'elsewhere' WHERE name = 'far'");
    const res = await h.app.request('/targets/far/logs', { headers: { Cookie: viewer.cookie, Accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('id="log-error"');
    expect(html).toContain('no worker is serving host elsewhere');
  });

  it('a viewer can read; anonymous cannot', async () => {
    const anon = await h.app.request('/api/targets/edge/logs?source=access');
    expect(anon.status).toBe(401);
    expect((await h.app.request('/api/targets/edge/logs/follow?source=access')).status).toBe(401);
    expect((await h.app.request('/api/targets/edge/logs/download?source=access')).status).toBe(401);
  });

  it('100 reads of the same filter by one user are one audit row with a count', async () => {
    const reader = await h.user('viewer');
    for (let i = 0; i < 10; i++)
      await Promise.all(Array.from({ length: 10 }, () => page('source=access&grep=p1&limit=5', reader)));
    const rows = await h.database.pool.query(
      "SELECT details FROM audit_log WHERE action = 'logs.read' AND actor_id = $1",
      [reader.id],
    );
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0].details).toMatchObject({ source: 'access', filter: { grep: 'p1' }, count: 100 });
    await page('source=access&grep=p2&limit=5', reader);
    const after = await h.database.pool.query('SELECT count(*)::int AS n FROM audit_log WHERE actor_id = $1', [
      reader.id,
    ]);
    expect(after.rows[0].n).toBe(2);
  });
});
