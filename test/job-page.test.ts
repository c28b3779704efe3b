import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertQueuedJob } from '../db/jobs.ts';
import { jobTitle } from '../views/job-title.ts';
import { api, type Harness, harness, type TestUser } from './support/app.ts';

describe('job page: titled by what the job does, with its parameters, duration, links and Run again', () => {
  let h: Harness;
  let admin: TestUser;
  let operator: TestUser;
  let viewer: TestUser;

  const page = async (user: TestUser, url: string) => {
    const res = await h.app.request(url, { headers: { Cookie: user.cookie, Accept: 'text/html' } });
    return { status: res.status, html: await res.text() };
  };
  /** A job row as the web tier records it, without running it (the page shows what was asked). */
  const recordJob = async (
    user: TestUser,
    kind: string,
    target: string | null,
    script: string | null,
    params: Record<string, unknown>,
  ) => {
    const id = await insertQueuedJob(h.database.db, {
      kind,
      target,
      script,
      params,
      maxAttempts: 1,
      requestedBy: user.id,
      actorName: user.username,
      idempotencyKey: null,
      onBusy: 'wait',
      retryOf: null,
      auditDetails: { kind },
    });
    return id!;
  };

  beforeAll(async () => {
    h = await harness();
    [admin, operator, viewer] = [await h.user('admin'), await h.user('operator'), await h.user('viewer')];
  });
  afterAll(async () => {
    await h?.close();
  });

  const cases: [string, string | null, string | null, Record<string, unknown>, string][] = [
    ['restart', 'site', null, { mode: 'restart' }, 'Restart site'],
    ['restart', 'site', null, { mode: 'stop' }, 'Stop site'],
    ['restart', 'site', null, { mode: 'reload' }, 'Reload site'],
    ['deploy', 'shop', null, { ref: 'v2.1' }, 'Deploy shop v2.1'],
    [
      'deploy',
      'shop',
      null,
      { release: '20261124-0830-abc', acknowledgeMigrations: false },
      'Roll back shop to 20261124-0830-abc',
    ],
    ['script', null, 'disk-usage', { path: '/var', depth: 2 }, 'Script disk-usage on /var'],
    [
      'config',
      'edge',
      null,
      { path: '/etc/nginx/sites-available/x', text: 'a\nb\n', comment: 'why', test: false },
      'Config edge /etc/nginx/sites-available/x',
    ],
    [
      'config',
      'edge',
      null,
      { path: '/etc/nginx/sites-available/x', version: 3, comment: 'back', test: false },
      'Restore config v3 edge /etc/nginx/sites-available/x',
    ],
    ['cert-reload', 'edge', null, { bundle: 'b1', fingerprint: 'AA:BB' }, 'Reload certificate on edge'],
  ];

  it('derives the title from kind and request, for each kind', () => {
    for (const [kind, target, script, params, title] of cases) {
      expect(jobTitle({ kind, target, script, params })).toBe(title);
    }
  });

  it('uses that title for <title>, the heading and the jobs list', async () => {
    const ids: string[] = [];
    for (const [kind, target, script, params, title] of cases) {
      const id = await recordJob(admin, kind, target, script, params);
      ids.push(id);
      const { status, html } = await page(viewer, `/jobs/${id}`);
      expect(status).toBe(200);
      expect(html).toContain(`<title>${title} · Deckhand</title>`);
      expect(html).toContain(`<h1>${title}</h1>`);
    }
    const list = await page(viewer, '/');
    for (const [, , , , title] of cases) expect(list.html).toContain(`>${title}</a>`);
  });

  it('shows the parameters with secrets redacted and a config text only summarised, and links the target', async () => {
    const secret = 'hunter2-very-secret';
    const text = 'server { listen 80; }\n# line two\n';
    const cfg = await recordJob(admin, 'config', 'edge', null, {
      path: '/etc/nginx/x',
      text,
      comment: 'c',
      test: false,
    });
    const { html } = await page(admin, `/jobs/${cfg}`);
    expect(html).toContain('<dt>text</dt><dd>2 lines, 33 bytes</dd>');
    expect(html).not.toContain('listen 80');
    expect(html).toContain('<a href="/targets/edge">edge</a>');
    const scr = await recordJob(admin, 'script', null, 'steps', { count: 2, apiToken: secret });
    const s = await page(admin, `/jobs/${scr}`);
    expect(s.html).toContain('<dt>count</dt><dd>2</dd>');
    expect(s.html).toContain('<dt>apiToken</dt><dd>[redacted]</dd>');
    expect(s.html).not.toContain(secret);
  });

  it('shows the duration of a finished job and the exact UTC times on hover', async () => {
    const id = await recordJob(admin, 'restart', 'site', null, { mode: 'restart' });
    await h.database.pool.query(
      `UPDATE jobs SET status = 'succeeded', started_at = '2026-01-02T03:04:05Z', finished_at = '2026-01-02T03:05:17Z' WHERE id = $1`,
      [id],
    );
    const { html } = await page(admin, `/jobs/${id}`);
    expect(html).toContain('<span id="job-duration">1 min 12 s</span>');
    expect(html).toContain('<time datetime="2026-01-02T03:04:05.000Z" title="2026-01-02 03:04:05 UTC">');
  });

  it('pages that show times show them relatively, with the exact UTC time on hover', async () => {
    const hover =
      /<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z" title="\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC">(just now|\d+ (s|min|h|d) ago)<\/time>/;
    for (const url of ['/', '/tokens', '/users']) {
      const { status, html } = await page(admin, url);
      expect(status, url).toBe(200);
      expect(html, url).toMatch(hover);
    }
  });

  it('Run again: an operator reruns a succeeded job as a new audited job that points back; a viewer gets no button and a 403', async () => {
    const run = await api(h, operator, 'POST', '/api/jobs', { kind: 'script', script: 'steps', params: { count: 3 } });
    expect(run.status).toBe(202);
    const first = run.json.id as string;
    await h.database.pool.query(`UPDATE jobs SET status = 'succeeded', finished_at = now() WHERE id = $1`, [first]);
    const own = await page(operator, `/jobs/${first}`);
    expect(own.html).toContain(`hx-post="/api/jobs/${first}/retry"`);
    expect(own.html).toContain('Run again</button>');

    const shown = await page(viewer, `/jobs/${first}`);
    expect(shown.status).toBe(200);
    expect(shown.html).not.toContain('Run again');
    expect(shown.html).not.toContain('/retry');
    const denied = await h.app.request(`/api/jobs/${first}/retry`, {
      method: 'POST',
      headers: { Cookie: viewer.cookie, 'X-CSRF-Token': viewer.csrfToken, Origin: 'http://localhost' },
    });
    expect(denied.status).toBe(403);

    // Without the CSRF token the session's click is refused.
    const noCsrf = await h.app.request(`http://localhost/api/jobs/${first}/retry`, {
      method: 'POST',
      headers: { Cookie: operator.cookie, Origin: 'http://localhost', 'HX-Request': 'true' },
    });
    expect(noCsrf.status).toBe(403);
    const again = await h.app.request(`http://localhost/api/jobs/${first}/retry`, {
      method: 'POST',
      headers: {
        Cookie: operator.cookie,
        'X-CSRF-Token': operator.csrfToken,
        Origin: 'http://localhost',
        'HX-Request': 'true',
      },
    });
    expect(again.status).toBe(202);
    const second = ((await again.json()) as { id: string }).id;
    expect(again.headers.get('HX-Redirect')).toBe(`/jobs/${second}`);
    const job = (await api(h, operator, 'GET', `/api/jobs/${second}`)).json;
    expect(job).toMatchObject({ kind: 'script', script: 'steps', params: { count: 3, label: 'step' }, retryOf: first });
    const audited = await h.database.pool.query(
      `SELECT actor FROM audit_log WHERE action = 'job.retry' AND subject = $1`,
      [second],
    );
    expect(audited.rows).toEqual([{ actor: operator.username }]);
    const next = await page(operator, `/jobs/${second}`);
    expect(next.html).toContain(`<a href="/jobs/${first}">${first.slice(0, 8)}</a>`);
  });
});
