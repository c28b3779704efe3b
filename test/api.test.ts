import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type Harness, harness, type TestUser } from './support/app.ts';

let h: Harness;
let viewer: TestUser;
let operator: TestUser;
let admin: TestUser;

beforeAll(async () => {
  h = await harness();
  [viewer, operator, admin] = await Promise.all([h.user('viewer'), h.user('operator'), h.user('admin')]);
});
afterAll(() => h.close());

const stepsJob = { kind: 'script', script: 'steps', params: { count: 1 } };
const count = async (table: 'jobs' | 'job_events' | 'audit_log') =>
  Number((await h.database.db.execute(sql.raw(`SELECT count(*) AS n FROM ${table}`))).rows[0]!.n);

/** A browser-style request: session cookie, same-origin fetch metadata, optional CSRF header. */
function browser(
  user: TestUser,
  path: string,
  init: { method?: string; body?: string; csrf?: string | null; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = {
    Cookie: user.cookie,
    'Content-Type': 'application/json',
    Origin: 'http://localhost',
    'Sec-Fetch-Site': 'same-origin',
    ...init.headers,
  };
  const csrf = init.csrf === undefined ? user.csrfToken : init.csrf;
  if (csrf) headers['X-CSRF-Token'] = csrf;
  return h.app.request(`http://localhost${path}`, { method: init.method ?? 'POST', body: init.body, headers });
}

describe('authentication and roles (routes through app.request)', () => {
  it('answers 401 with the error shape when no credentials are sent', async () => {
    const res = await h.app.request('/api/jobs');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: { code: 'unauthenticated', message: expect.any(String), details: null },
    });
  });

  it('answers 401 to a forged or malformed bearer token', async () => {
    for (const token of ['dh_abc.def', 'garbage', `${operator.token}x`]) {
      const res = await h.app.request('/api/jobs', { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status, token).toBe(401);
    }
  });

  it('lets a viewer read but not enqueue, cancel or retry', async () => {
    expect((await api(h, viewer, 'GET', '/api/jobs')).status).toBe(200);
    expect((await api(h, viewer, 'GET', '/api/scripts')).status).toBe(200);
    const post = await api(h, viewer, 'POST', '/api/jobs', stepsJob);
    expect(post.status).toBe(403);
    expect(post.json.error.code).toBe('forbidden');
    const job = await api(h, operator, 'POST', '/api/jobs', stepsJob);
    expect((await api(h, viewer, 'POST', `/api/jobs/${job.json.id}/cancel`)).status).toBe(403);
  });

  it('keeps a job’s output and history private to its owner and admins', async () => {
    const job = await api(h, operator, 'POST', '/api/jobs', stepsJob);
    const other = await h.user('operator');
    expect((await api(h, other, 'GET', `/api/jobs/${job.json.id}`)).status).toBe(200);
    expect((await api(h, other, 'GET', `/api/jobs/${job.json.id}/output`)).status).toBe(403);
    expect((await api(h, other, 'GET', `/api/jobs/${job.json.id}/events`)).status).toBe(403);
    expect((await api(h, other, 'POST', `/api/jobs/${job.json.id}/cancel`)).status).toBe(403);
    expect((await api(h, operator, 'GET', `/api/jobs/${job.json.id}/output`)).status).toBe(200);
    expect((await api(h, admin, 'GET', `/api/jobs/${job.json.id}/events`)).status).toBe(200);
  });
});

describe('CSRF on session-authenticated writes', () => {
  it('accepts a same-origin request that carries the session’s token', async () => {
    const res = await browser(operator, '/api/jobs', { body: JSON.stringify(stepsJob) });
    expect(res.status).toBe(202);
  });

  it('refuses a write without the token, or with another session’s token', async () => {
    const before = await count('jobs');
    for (const csrf of [null, 'wrong', admin.csrfToken]) {
      const res = await browser(operator, '/api/jobs', { body: JSON.stringify(stepsJob), csrf });
      expect(res.status, String(csrf)).toBe(403);
      expect((await res.json()).error.code).toBe('csrf');
    }
    expect(await count('jobs')).toBe(before);
  });

  it('refuses a cross-site form post even with a valid cookie', async () => {
    const res = await browser(operator, '/ui/scripts/steps/run', {
      body: 'count=1',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Origin: 'https://evil.example',
        'Sec-Fetch-Site': 'cross-site',
      },
    });
    expect(res.status).toBe(403);
  });

  it('logs out only with the token, and the session is gone afterwards', async () => {
    const user = await h.user('viewer');
    expect((await browser(user, '/logout', { csrf: null })).status).toBe(403);
    expect((await browser(user, '/logout')).status).toBe(303);
    const after = await h.app.request('/api/jobs', { headers: { Cookie: user.cookie } });
    expect(after.status).toBe(401);
  });
});

describe('bad input gets a 400 with {error:{code,message,details}}, never a 500', () => {
  const cases: [string, string | object, number][] = [
    ['malformed JSON', '{"kind":', 400],
    ['a JSON array', '[1,2]', 400],
    ['no kind', { script: 'steps' }, 400],
    ['an unknown kind', { kind: 'rm-rf' }, 400],
    ['a traversal-shaped script name', { kind: 'script', script: '../../bin/sh' }, 400],
    ['an absolute script path', { kind: 'script', script: '/bin/sh' }, 400],
    ['an unknown script', { kind: 'script', script: 'nope' }, 400],
    ['a script without manifest', { kind: 'script', script: 'unlisted' }, 400],
    ['an out-of-range param', { kind: 'script', script: 'steps', params: { count: 51 } }, 400],
    ['a param of the wrong type', { kind: 'script', script: 'steps', params: { count: 'many' } }, 400],
    ['an unknown param', { kind: 'script', script: 'steps', params: { nope: 1 } }, 400],
    ['params that are not an object', { kind: 'script', script: 'steps', params: 'x' }, 400],
    ['a bad onBusy', { ...stepsJob, onBusy: 'maybe' }, 400],
    ['an unknown field beside the script', { ...stepsJob, timeout: 5 }, 400],
    ['an oversized body', { kind: 'script', script: 'steps', params: { label: 'x'.repeat(100_000) } }, 413],
  ];
  it.each(cases)('%s', async (_what, body, status) => {
    const before = await count('jobs');
    const res = await api(h, operator, 'POST', '/api/jobs', body);
    expect(res.status).toBe(status);
    expect(Object.keys(res.json.error).sort()).toEqual(['code', 'details', 'message']);
    expect(res.json.error.message).toEqual(expect.any(String));
    expect(await count('jobs')).toBe(before); // nothing half-written
  });

  it('names the failing field in details', async () => {
    const res = await api(h, operator, 'POST', '/api/jobs', { kind: 'script', script: 'steps', params: { count: 0 } });
    expect(res.json.error.details.fieldErrors.count).toBeDefined();
  });

  it.each([
    ['/api/jobs?limit=0'],
    ['/api/jobs?limit=abc'],
    ['/api/jobs?status=bogus'],
    ['/api/jobs?cursor=%%%'],
    ['/api/jobs/:id/events?after=-1'],
    ['/api/jobs/:id/output?after=x'],
  ])('rejects the query %s', async (url) => {
    const job = await api(h, admin, 'POST', '/api/jobs', stepsJob);
    expect((await api(h, admin, 'GET', url.replace(':id', job.json.id))).status).toBe(400);
  });

  it('answers 404 for unknown or malformed job ids', async () => {
    expect((await api(h, viewer, 'GET', '/api/jobs/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await api(h, viewer, 'GET', '/api/jobs/not-a-uuid')).status).toBe(404);
    expect((await api(h, operator, 'POST', '/api/jobs/not-a-uuid/cancel')).status).toBe(404);
  });
});

describe('enqueueing', () => {
  it('answers 202 with id, status and url, and records the job, its first event and an audit row', async () => {
    const audits = await count('audit_log');
    const res = await api(h, operator, 'POST', '/api/jobs', stepsJob);
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ id: expect.any(String), status: 'queued', url: `/api/jobs/${res.json.id}` });
    const job = await api(h, operator, 'GET', res.json.url);
    expect(job.json).toMatchObject({
      kind: 'script',
      script: 'steps',
      params: { count: 1, label: 'step' },
      status: 'queued',
      requestedBy: operator.username,
      attempt: 0,
      maxAttempts: 1,
    });
    const events = await api(h, operator, 'GET', `${res.json.url}/events`);
    expect(events.json.items).toEqual([
      { seq: 1, at: expect.any(String), type: 'status', data: { status: 'queued', by: operator.username } },
    ]);
    expect(await count('audit_log')).toBe(audits + 1);
    expect(await h.producer.exists(res.json.id)).toBe(true);
  });

  it('returns the same job for a repeated Idempotency-Key', async () => {
    const headers = { 'Idempotency-Key': 'deploy-123' };
    const a = await api(h, operator, 'POST', '/api/jobs', stepsJob, headers);
    const b = await api(h, operator, 'POST', '/api/jobs', stepsJob, headers);
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.json.id).toBe(a.json.id);
    const other = await api(h, admin, 'POST', '/api/jobs', stepsJob, headers);
    expect(other.json.id).not.toBe(a.json.id); // keys are per user
  });

  it('lists jobs newest first with keyset pagination and filters', async () => {
    const user = await h.user('operator');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await api(h, user, 'POST', '/api/jobs', stepsJob)).json.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api(h, user, 'GET', `/api/jobs?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.json.items.map((j: { id: string }) => j.id));
      cursor = page.json.nextCursor;
    } while (cursor);
    const mine = seen.filter((id) => ids.includes(id));
    expect(mine).toEqual([...ids].reverse());
    expect(new Set(seen).size).toBe(seen.length);
    const queued = await api(h, user, 'GET', '/api/jobs?status=succeeded&kind=script');
    expect(queued.json.items.every((j: { status: string }) => j.status === 'succeeded')).toBe(true);
  });

  it('cancels a queued job at once and removes it from the queue', async () => {
    const res = await api(h, operator, 'POST', '/api/jobs', stepsJob);
    const cancel = await api(h, operator, 'POST', `/api/jobs/${res.json.id}/cancel`);
    expect(cancel.status).toBe(202);
    expect(cancel.json.status).toBe('cancelled');
    expect((await api(h, operator, 'GET', res.json.url)).json.status).toBe('cancelled');
    expect(await h.producer.exists(res.json.id)).toBe(false);
    expect((await api(h, operator, 'POST', `/api/jobs/${res.json.id}/cancel`)).status).toBe(409);
  });

  it('retries an ended job as a new, audited job', async () => {
    const res = await api(h, operator, 'POST', '/api/jobs', stepsJob);
    expect((await api(h, operator, 'POST', `/api/jobs/${res.json.id}/retry`)).status).toBe(409); // still queued
    await api(h, operator, 'POST', `/api/jobs/${res.json.id}/cancel`);
    const retry = await api(h, operator, 'POST', `/api/jobs/${res.json.id}/retry`);
    expect(retry.status).toBe(202);
    expect(retry.json.id).not.toBe(res.json.id);
    expect((await api(h, operator, 'GET', retry.json.url)).json).toMatchObject({
      retryOf: res.json.id,
      status: 'queued',
    });
    const audit = await h.database.db.execute(sql`SELECT action FROM audit_log WHERE subject = ${retry.json.id}`);
    expect(audit.rows).toEqual([{ action: 'job.retry' }]);
  });

  it('lists the allow-listed scripts with their parameter schemas', async () => {
    const res = await api(h, viewer, 'GET', '/api/scripts');
    const steps = res.json.items.find((s: { name: string }) => s.name === 'steps');
    expect(steps).toEqual({
      name: 'steps',
      description: expect.any(String),
      timeoutSec: 30,
      params: expect.objectContaining({ count: expect.objectContaining({ type: 'int', max: 50 }) }),
    });
    expect(res.json.items.map((s: { name: string }) => s.name)).not.toContain('unlisted');
  });
});

describe('audit log page', () => {
  it('shows admins who did what, and refuses everyone else', async () => {
    await api(h, operator, 'POST', '/api/jobs', stepsJob);
    const page = await h.app.request('/audit', { headers: { Authorization: `Bearer ${admin.token}` } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('job.enqueue');
    expect(html).toContain(operator.username);
    expect((await api(h, operator, 'GET', '/audit')).status).toBe(403);
  });
});

describe('queue dashboard (bull-board, read-only)', () => {
  it('is served to admins only', async () => {
    const page = await h.app.request('/admin/queues', { headers: { Authorization: `Bearer ${admin.token}` } });
    expect(page.status).toBe(200);
    const queues = await api(h, admin, 'GET', '/admin/queues/api/queues?activeQueue=&page=1&jobsPerPage=10');
    expect(queues.json.queues[0]).toMatchObject({ name: h.queue.name, readOnlyMode: true });
    expect((await api(h, operator, 'GET', '/admin/queues')).status).toBe(403);
    expect((await h.app.request('/admin/queues/api/queues')).status).toBe(401);
  });
});

describe('settings and the restart of Deckhand itself (routes)', () => {
  it('lets only admins read and change settings, audited', async () => {
    expect((await api(h, admin, 'GET', '/api/settings')).json).toMatchObject({ logoutOnRestart: true });
    expect((await api(h, operator, 'GET', '/api/settings')).status).toBe(403);
    expect((await api(h, operator, 'PUT', '/api/settings', { logoutOnRestart: false })).status).toBe(403);
    expect((await api(h, admin, 'PUT', '/api/settings', { logoutOnRestart: 'no' })).status).toBe(400);
    expect((await api(h, admin, 'PUT', '/api/settings', { logoutOnRestart: false })).json).toMatchObject({
      logoutOnRestart: false,
    });
    const audit = await h.database.db.execute(sql`SELECT actor FROM audit_log WHERE action = 'settings.update'`);
    expect(audit.rows).toEqual([{ actor: admin.username }]);
    await api(h, admin, 'PUT', '/api/settings', { logoutOnRestart: true });
  });

  it('refuses a restart to non-admins, and hides the settings page from them', async () => {
    expect((await api(h, operator, 'POST', '/api/system/restart')).status).toBe(403);
    expect((await api(h, viewer, 'GET', '/settings')).status).toBe(403);
    const page = await h.app.request('/settings', { headers: { Authorization: `Bearer ${admin.token}` } });
    expect(await page.text()).toContain('Restart Deckhand');
    const home = await h.app.request('/', { headers: { Authorization: `Bearer ${operator.token}` } });
    expect(await home.text()).not.toContain('href="/settings"');
  });

  it('answers 503 when no web-tier supervisor runs this process', async () => {
    const res = await api(h, admin, 'POST', '/api/system/restart');
    expect(res.status).toBe(503);
    expect(res.json.error.code).toBe('unsupported');
  });
});

describe('health', () => {
  it('reports liveness, readiness and metrics', async () => {
    expect((await h.app.request('/healthz')).status).toBe(200);
    const ready = await h.app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, checks: { database: 'ok', queue: 'ok' } });
    const metrics = await (await h.app.request('/metrics')).text();
    expect(metrics).toMatch(/deckhand_jobs\{kind="script",status="queued"\} \d+/);
  });
});

describe('the 64 KiB body limit over a real socket (Content-Length and chunked bodies)', () => {
  async function overHttp(send: (port: number) => Promise<{ status: number; body: string }>) {
    const { serve } = await import('@hono/node-server');
    const server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => server.once('listening', r));
    try {
      return await send((server.address() as import('node:net').AddressInfo).port);
    } finally {
      await new Promise((r) => server.close(r));
    }
  }
  const post = (port: number, headers: Record<string, string>, body: string | string[]) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      import('node:http').then(({ request }) => {
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/jobs', headers }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        for (const chunk of Array.isArray(body) ? body : [body]) req.write(chunk);
        req.end();
      }, reject);
    });
  const headers = () => ({ Authorization: `Bearer ${operator.token}`, 'Content-Type': 'application/json' });

  it('answers 413 to a declared length over 64 KiB and to a chunked body that grows past it; nothing is queued', async () => {
    const before = await count('jobs');
    const big = JSON.stringify({ ...stepsJob, params: { label: 'x'.repeat(70_000) } });
    const declared = await overHttp((port) =>
      post(port, { ...headers(), 'Content-Length': String(Buffer.byteLength(big)) }, big),
    );
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error.code).toBe('payload_too_large');
    const chunks = [big.slice(0, 30_000), big.slice(30_000, 60_000), big.slice(60_000)];
    const chunked = await overHttp((port) => post(port, { ...headers(), 'Transfer-Encoding': 'chunked' }, chunks));
    expect(chunked.status).toBe(413);
    expect(await count('jobs')).toBe(before);
  });

  it('queues a job whose JSON body comes with a Content-Length, and one that comes chunked', async () => {
    const body = JSON.stringify(stepsJob);
    const declared = await overHttp((port) =>
      post(port, { ...headers(), 'Content-Length': String(Buffer.byteLength(body)) }, body),
    );
    expect(declared.status).toBe(202);
    const chunked = await overHttp((port) =>
      post(port, { ...headers(), 'Transfer-Encoding': 'chunked' }, [body.slice(0, 10), body.slice(10)]),
    );
    expect(chunked.status).toBe(202);
  });
});
