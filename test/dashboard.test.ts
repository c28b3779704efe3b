import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, eventually, type Harness, harness, type TestUser } from './support/app.ts';
import { makeCert, scratchDir, startSupervisordPrograms } from './support/services.ts';

const FAR = 'far-away';

describe('dashboard: the host card and target status, read from PostgreSQL only', () => {
  let h: Harness;
  let admin: TestUser;
  let operator: TestUser;
  let viewer: TestUser;
  let sup: Awaited<ReturnType<typeof startSupervisordPrograms>>;
  let dir: string;

  const page = async (user: TestUser, url: string) => {
    const res = await h.app.request(url, { headers: { cookie: user.cookie } });
    return { status: res.status, html: await res.text() };
  };
  const rowOf = (html: string, name: string) =>
    /<tr id="target-[^"]+"[\s\S]*?<\/tr>/g.exec(html.slice(html.indexOf(`<tr id="target-${name}"`)))?.[0] ?? '';

  beforeAll(async () => {
    h = await harness({ env: { DECKHAND_STATUS_INTERVAL_MS: '300' } });
    [admin, operator, viewer] = [await h.user('admin'), await h.user('operator'), await h.user('viewer')];
    dir = scratchDir('dash');
    sup = await startSupervisordPrograms(dir, ['web', 'idle'], ['idle']);
    const soon = await makeCert(dir, 'soon', ['localhost'], 7);
    const tls = { certPath: soon.cert, keyPath: soon.key, reload: 'restart', probe: '127.0.0.1:1' };
    for (const [name, program] of [
      ['web', 'web'],
      ['idle', 'idle'],
      ['remote', 'web'],
    ] as const) {
      const spec = { manager: 'supervisor', program, configPath: sup.config, ...(name === 'web' ? { tls } : {}) };
      expect((await api(h, admin, 'PUT', `/api/targets/${name}`, spec)).status).toBe(201);
    }
  });
  afterAll(async () => {
    await sup?.stop();
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('without a worker, says no worker is serving this host and shows targets as unknown, at once', async () => {
    const { status, html } = await page(viewer, '/');
    expect(status).toBe(200);
    expect(html).toContain(`id="host-${h.config.DECKHAND_HOST_NAME}" data-serving="false"`);
    expect(html).toContain('no worker is serving this host');
    expect(rowOf(html, 'web')).toContain('data-running="unknown"');
    expect(rowOf(html, 'web')).toContain('>unknown<');
    expect(rowOf(html, 'web')).not.toContain('<button');
  });

  it('with a worker: the host card with disks, memory, load, uptime; running and stopped targets; actions by state and role', async () => {
    await h.startWorker();
    const html = await eventually(async () => {
      const p = await page(admin, '/');
      const ready = rowOf(p.html, 'web').includes('data-running="true"') && rowOf(p.html, 'idle').includes('"false"');
      return ready && p.html.includes('data-serving="true"') ? p.html : null;
    });
    expect(html).toMatch(/<tr class="disk-(ok|warn|alert)" data-mount="\/"/);
    expect(html).toMatch(/data-figure="memory">[\d.]+ GiB used of [\d.]+ GiB/);
    expect(html).toMatch(/data-figure="load">[\d.]+ [\d.]+ [\d.]+/);
    if (!fs.existsSync('/run/systemd/system')) expect(html).toContain('data-figure="failed-units" class="">no systemd');

    const web = rowOf(html, 'web');
    expect(web).toContain('data-running="true"');
    expect(web).toMatch(/data-cert-days="[67]"/);
    expect(web).toContain('class="cert-warn"');
    expect([...web.matchAll(/<button[^>]*>(\w+)<\/button>/g)].map((m) => m[1])).toEqual(['Restart', 'Reload', 'Stop']);
    expect(web).toContain('hx-confirm="Stop web? It stays stopped until someone starts it."');
    // Only Stop looks destructive.
    expect([...web.matchAll(/<button[^>]*class="small danger"[^>]*>(\w+)<\/button>/g)].map((m) => m[1])).toEqual([
      'Stop',
    ]);
    const idle = rowOf(html, 'idle');
    expect([...idle.matchAll(/<button[^>]*>(\w+)<\/button>/g)].map((m) => m[1])).toEqual(['Start']);

    const asOperator = rowOf((await page(operator, '/')).html, 'web');
    expect([...asOperator.matchAll(/<button[^>]*>(\w+)<\/button>/g)].map((m) => m[1])).toEqual(['Restart', 'Reload']);
    expect(rowOf((await page(viewer, '/')).html, 'web')).not.toContain('<button');
  });

  it('Stop is for admins only', async () => {
    const res = await h.app.request('/ui/targets/web/stop', {
      method: 'POST',
      headers: { cookie: operator.cookie, 'x-csrf-token': operator.csrfToken, 'sec-fetch-site': 'same-origin' },
    });
    expect(res.status).toBe(403);
    const jobs = await api(h, admin, 'GET', '/api/jobs?target=web');
    expect(jobs.json.items).toEqual([]);
  });

  it('a host whose figures are stale says no worker is serving it, with warn and alert colours for its disks', async () => {
    const figures = {
      mounts: [
        { mount: '/', fstype: 'ext4', sizeBytes: 100, usedBytes: 90, availableBytes: 10, usedPct: 90 },
        { mount: '/srv', fstype: 'xfs', sizeBytes: 100, usedBytes: 97, availableBytes: 3, usedPct: 97 },
      ],
      memory: { totalBytes: 8 * 1024 ** 3, availableBytes: 2 * 1024 ** 3 },
      load: [0.5, 0.25, 0.1],
      uptimeSec: 90_000,
      cpus: 4,
      failedUnits: 2,
      systemd: true,
    };
    const pool = h.database.db.$client;
    await pool.query(
      `INSERT INTO host_status (host, figures, worker, updated_at) VALUES ($1, $2, 'gone', now() - interval '1 hour')`,
      [FAR, JSON.stringify(figures)],
    );
    const configs = { kind: 'nginx', main: '/etc/nginx/nginx.conf', files: ['/etc/nginx/conf.d/*.conf'] };
    await pool.query(
      `UPDATE targets SET host = $1, spec = spec || jsonb_build_object('configs', $3::jsonb) WHERE name = $2`,
      [FAR, 'remote', JSON.stringify(configs)],
    );
    const { html } = await page(admin, '/fragments/overview');
    const card = html.slice(
      html.indexOf(`id="host-${FAR}"`),
      html.indexOf('</section>', html.indexOf(`id="host-${FAR}"`)),
    );
    expect(card).toContain('data-serving="false"');
    expect(card).toContain('no worker is serving this host');
    expect(card).toContain('data-mount="/" data-level="warn"');
    expect(card).toContain('data-mount="/srv" data-level="alert"');
    expect(card).toContain('data-figure="failed-units" class="error">2');
    expect(card).toContain('6.0 GiB used of 8.0 GiB');
    expect(rowOf(html, 'remote')).toContain('data-running="unknown"');
    expect(rowOf(html, 'remote')).toContain('href="/targets/remote/configs"');
    expect(rowOf(html, 'web')).not.toContain('/configs"');
    // The local host is still served.
    expect(html).toContain(`id="host-${h.config.DECKHAND_HOST_NAME}" data-serving="true"`);
  });

  it('a host whose last sample is seconds old (a slow one on a loaded host) still counts as served; past 10 s it does not', async () => {
    // This suite samples every 300 ms: three intervals alone would call the slow host unserved.
    const memory = { totalBytes: 1, availableBytes: 1 };
    const figures = { mounts: [], memory, load: [0, 0, 0], uptimeSec: 1, cpus: 1, failedUnits: null, systemd: false };
    const pool = h.database.db.$client;
    for (const [host, age] of [
      ['slow-sampler', '5 seconds'],
      ['silent', '11 seconds'],
    ] as const) {
      const spec = { manager: 'supervisor', program: 'web', configPath: sup.config };
      expect((await api(h, admin, 'PUT', `/api/targets/on-${host}`, spec)).status).toBe(201);
      await pool.query('UPDATE targets SET host = $1 WHERE name = $2', [host, `on-${host}`]);
      await pool.query(
        `INSERT INTO host_status (host, figures, worker, updated_at) VALUES ($1, $2, 'w', now() - $3::interval)`,
        [host, JSON.stringify(figures), age],
      );
    }
    const { html } = await page(viewer, '/fragments/overview');
    expect(html).toContain('id="host-slow-sampler" data-serving="true"');
    expect(html).toContain('id="host-silent" data-serving="false"');
  });

  it('a poll costs the same queries however many targets there are', async () => {
    const pool = h.database.db.$client;
    const queriesFor = async (url: string) => {
      const query = pool.query.bind(pool);
      let n = 0;
      pool.query = ((...args: Parameters<typeof query>) => {
        n++;
        return query(...args);
      }) as typeof pool.query;
      try {
        expect((await page(viewer, url)).status).toBe(200);
      } finally {
        pool.query = query;
      }
      return n;
    };
    // The page's own queries: the viewer's session check is warmed into the auth cache first, and the
    // fewest of a few polls leaves out the worker's status publisher, which shares this pool.
    const fewestFor = async (url: string) => {
      await page(viewer, url);
      const counts = [await queriesFor(url), await queriesFor(url), await queriesFor(url)];
      return Math.min(...counts);
    };
    const few = await fewestFor('/fragments/overview');
    for (const i of [1, 2, 3, 4, 5]) {
      await pool.query(`INSERT INTO targets (name, spec) VALUES ($1, '{"manager":"systemd","unit":"x.service"}')`, [
        `extra${i}`,
      ]);
    }
    const many = await fewestFor('/fragments/overview');
    await pool.query(`DELETE FROM targets WHERE name LIKE 'extra%'`);
    expect(many).toBe(few);
  });

  it('flags unexpected restarts of the last 24 h on the dashboard and lists them on the target page', async () => {
    const pool = h.database.db.$client;
    await pool.query(
      `INSERT INTO target_restarts (target, at, old_pid, new_pid, detail) VALUES
       ('idle', now() - interval '2 days', 1, 2, 'pid 1 → 2, started 09:00:00 UTC, no Deckhand job'),
       ('idle', now() - interval '2 hours', 2, 3, 'pid 2 → 3, started 10:41:07 UTC, no Deckhand job'),
       ('idle', now() - interval '1 hour', 3, 4, 'pid 3 → 4, started 11:41:07 UTC, no Deckhand job')`,
    );
    const row = rowOf((await page(viewer, '/')).html, 'idle');
    expect(row).toContain('data-restarts="2"');
    expect(row).toContain('2 unexpected restarts in 24 h');
    const target = await page(viewer, '/targets/idle');
    expect(target.status).toBe(200);
    const listed = [...target.html.matchAll(/<td[^>]*>(pid \d → \d[^<]*)<\/td>/g)].map((m) => m[1]);
    expect(listed).toEqual([
      'pid 3 → 4, started 11:41:07 UTC, no Deckhand job',
      'pid 2 → 3, started 10:41:07 UTC, no Deckhand job',
      'pid 1 → 2, started 09:00:00 UTC, no Deckhand job',
    ]);
    expect((await page(viewer, '/targets/nope')).status).toBe(404);
  });
});
