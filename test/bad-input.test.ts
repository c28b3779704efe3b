import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kindEnv } from '../jobs/lib/kind.ts';
import { createApp } from '../server/app.ts';
import { api, type Harness, harness, type TestUser } from './support/app.ts';

/**
 * Bad text (NUL bytes, unpaired surrogates, escapes that are not UTF-8) and malformed form bodies
 * sent to every route of the real app, as every kind of caller: always a 400, never a 5xx. The
 * routes come from the app's own table, so routes added later are covered without editing this.
 */

let h: Harness;
let callers: { name: string; user: TestUser | null }[];

beforeAll(async () => {
  h = await harness();
  const [viewer, operator, admin] = await Promise.all([h.user('viewer'), h.user('operator'), h.user('admin')]);
  callers = [
    { name: 'anonymous', user: null },
    { name: 'viewer', user: viewer },
    { name: 'operator', user: operator },
    { name: 'admin', user: admin },
  ];
});
afterAll(() => h.close());

const ORIGIN = 'http://localhost';
const NUL = '%00';
const LONE_SURROGATE = '%ED%A0%80'; // the UTF-8 spelling of U+D800, which decodes to a lone surrogate
const UNSAFE = ['POST', 'PUT', 'PATCH', 'DELETE'];

interface Probe {
  what: string;
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
  cookie?: string;
}

/** Each concrete route of the app as [method, path]; `ALL` routes are tried as GET and POST. */
function routeTable(app: Harness['app']): [string, string][] {
  const seen = new Set<string>();
  for (const r of app.routes) {
    if (r.path === '/*' || r.path === '*') continue; // app-wide middleware
    for (const method of r.method === 'ALL' ? ['GET', 'POST'] : [r.method]) seen.add(`${method} ${r.path}`);
  }
  return [...seen].map((s) => s.split(' ', 2) as [string, string]);
}

const params = (path: string) => [...path.matchAll(/:(\w+)(\{[^}]*\})?/g)].map((m) => m[0]);

/** The path with every parameter (and wildcard) filled in, one of them with `bad` when asked. */
function fill(path: string, bad?: { param: string; value: string }): string {
  let out = path.replace(/\*$/, 'x');
  for (const p of params(path)) out = out.replace(p, bad?.param === p ? bad.value : 'x');
  return out;
}

function probesFor(method: string, path: string): Probe[] {
  const probes: Probe[] = [];
  for (const p of params(path)) {
    probes.push({ what: `NUL in ${p}`, method, path: fill(path, { param: p, value: NUL }) });
    probes.push({ what: `lone surrogate in ${p}`, method, path: fill(path, { param: p, value: LONE_SURROGATE }) });
  }
  const plain = fill(path);
  // The names routes read (and an unknown one); a handler that read one used to pass the NUL to PostgreSQL.
  const names = ['x', 'target', 'kind', 'status', 'cursor', 'since', 'source', 'before', 'after', 'path'];
  for (const name of names) probes.push({ what: `NUL in ?${name}`, method, path: `${plain}?${name}=${NUL}` });
  probes.push({ what: 'NUL in a query name', method, path: `${plain}?target${NUL}=1` });
  probes.push({ what: 'lone surrogate in the query', method, path: `${plain}?target=${LONE_SURROGATE}` });
  probes.push({ what: 'NUL in the session cookie', method, path: plain, cookie: `deckhand_session=a${NUL}.b` });
  if (!UNSAFE.includes(method)) return probes;
  const json = { 'Content-Type': 'application/json' };
  probes.push({
    what: 'NUL in a JSON string',
    method,
    path: plain,
    headers: json,
    body: '{"kind":"script","a":"x\\u0000"}',
  });
  probes.push({ what: 'NUL in a nested JSON key', method, path: plain, headers: json, body: '{"p":[{"k\\u0000":1}]}' });
  probes.push({ what: 'lone surrogate in JSON', method, path: plain, headers: json, body: '{"name":"\\ud800"}' });
  probes.push({
    what: 'raw NUL in a text body',
    method,
    path: plain,
    headers: { 'Content-Type': 'text/plain' },
    body: 'a\0b',
  });
  const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
  probes.push({ what: 'NUL in a form field', method, path: plain, headers: form, body: `username=a${NUL}&password=x` });
  const multipart = { 'Content-Type': 'multipart/form-data; boundary=XyZ' };
  probes.push({ what: 'a broken multipart boundary', method, path: plain, headers: multipart, body: '--AbC\r\nnope' });
  probes.push({
    what: 'a truncated multipart body',
    method,
    path: plain,
    headers: multipart,
    body: '--XyZ\r\nContent-Disposition: form-data; name="cert"\r\n\r\nabc',
  });
  probes.push({
    what: 'a NUL in a multipart file',
    method,
    path: plain,
    headers: multipart,
    body: '--XyZ\r\nContent-Disposition: form-data; name="cert"; filename="a.pem"\r\n\r\na\0b\r\n--XyZ--\r\n',
  });
  return probes;
}

/** As a browser would send it for this caller: session cookie, same-origin headers and the CSRF token. */
function send(user: TestUser | null, probe: Probe) {
  const headers: Record<string, string> = { Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin', ...probe.headers };
  const cookie = probe.cookie ?? user?.cookie;
  if (cookie) headers.Cookie = cookie;
  if (user) headers['X-CSRF-Token'] = user.csrfToken;
  return h.app.request(`${ORIGIN}${probe.path}`, { method: probe.method, headers, body: probe.body });
}

describe('every route of the real app, as every caller, refuses bad text and malformed forms with a 400', () => {
  it('covers the whole route table', () => {
    const routes = routeTable(h.app);
    // The known resources are all in the table (so a refactor cannot silently empty it).
    for (const path of ['/api/jobs', '/api/jobs/:id', '/api/targets/:name', '/login', '/ui/scripts/:name/run']) {
      expect(
        routes.some(([, p]) => p === path),
        path,
      ).toBe(true);
    }
    expect(routes.length).toBeGreaterThan(40);
  });

  it('answers 400 with the error shape to each probe, never a 5xx', async () => {
    const wrong: string[] = [];
    let sent = 0;
    for (const [method, path] of routeTable(h.app)) {
      for (const probe of probesFor(method, path)) {
        for (const { name, user } of callers) {
          const res = await send(user, probe);
          sent++;
          const body = await res.text();
          let code: unknown;
          try {
            code = JSON.parse(body).error?.code;
          } catch {}
          if (res.status !== 400 || !['invalid_text', 'invalid_request'].includes(code as string)) {
            wrong.push(`${name} ${method} ${path} [${probe.what}] -> ${res.status} ${body.slice(0, 120)}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(sent).toBeGreaterThan(1000);
  });

  it('answers htmx requests with readable HTML, still 400', async () => {
    const [, viewer] = callers;
    const res = await h.app.request(`${ORIGIN}/fragments/jobs/newer?after=${NUL}`, {
      headers: { Cookie: viewer!.user!.cookie, 'HX-Request': 'true' },
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('role="alert"');
  });
});

describe('the cases found in review, as real clients send them', () => {
  it('refuses a NUL or lone surrogate in a target, a PEM upload, a script parameter and a login', async () => {
    const admin = callers[3]!.user!;
    const target = { manager: 'systemd', unit: 'web.service', description: 'a\u0000b' };
    const answers = [
      await api(h, admin, 'PUT', '/api/targets/web', target),
      await api(h, admin, 'PUT', '/api/targets/web', { ...target, description: 'ok', names: ['\ud800.example'] }),
      await api(h, admin, 'POST', '/api/certificates', { cert: '-----BEGIN CERTIFICATE-----\u0000', key: 'k' }),
      await api(h, admin, 'POST', '/api/jobs', { kind: 'script', script: 'steps', params: { label: '\u0000' } }),
      await api(h, admin, 'GET', '/api/jobs?target=%00'),
      await api(h, admin, 'GET', '/api/targets/%00'),
    ];
    const login = await h.app.request(`${ORIGIN}/login`, {
      method: 'POST',
      body: `username=admin${NUL}&password=x`,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: ORIGIN },
    });
    expect([...answers.map((a) => a.status), login.status]).toEqual(Array(answers.length + 1).fill(400));
    expect(answers.every((a) => a.json.error.code === 'invalid_text')).toBe(true);
    expect((await api(h, admin, 'GET', '/api/targets/web')).status).toBe(404);
  });
});

describe('good text still passes', () => {
  it('accepts astral characters (surrogate pairs) in queries, JSON and forms', async () => {
    const operator = callers[2]!.user!;
    const list = await api(h, operator, 'GET', '/api/jobs?target=%F0%9F%9A%80');
    expect(list.status).toBe(200);
    const job = await api(h, operator, 'POST', '/api/jobs', {
      kind: 'script',
      script: 'steps',
      params: { count: 1, label: 'go 🚀 naïve' },
    });
    expect(job.status).toBe(202);
    expect((await api(h, operator, 'GET', `/api/jobs/${job.json.id}`)).json.params.label).toBe('go 🚀 naïve');
  });
});

describe('the known-device cookie', () => {
  it('answers 400 to a NUL in it at sign-in, before it reaches the database', async () => {
    const viewer = callers[1]!.user!;
    for (const value of [`a${NUL}.b`, `a.b${NUL}`]) {
      const res = await h.app.request(`${ORIGIN}/login`, {
        method: 'POST',
        headers: {
          Origin: ORIGIN,
          'Sec-Fetch-Site': 'same-origin',
          'Content-Type': 'application/x-www-form-urlencoded',
          Cookie: `deckhand_device=${value}`,
        },
        body: `username=${viewer.username}&password=wrong-password`,
      });
      expect(res.status, value).toBe(400);
      expect((await res.json()).error.code).toBe('invalid_text');
    }
  });
});

describe('bad input is not logged as an error', () => {
  it('writes no error line (and no query text) for requests that used to answer 500', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = pino({ level: 'debug' }, sink);
    const { config, database, producer, registry, host } = h;
    const app = createApp({
      config,
      db: database.db,
      producer,
      registry,
      env: kindEnv(config, database.db),
      log,
      host,
    });
    const admin = callers[3]!.user!;
    const auth = { Authorization: `Bearer ${admin.token}` };
    const statuses = [
      (await app.request(`/api/targets/${NUL}`, { headers: auth })).status,
      (await app.request(`/api/jobs?target=secret-looking${NUL}`, { headers: auth })).status,
      (await app.request('/api/jobs', { headers: { Cookie: `deckhand_session=${NUL}` } })).status,
    ];
    expect(statuses).toEqual([400, 400, 400]);
    expect(lines.filter((l) => JSON.parse(l).level >= 50)).toEqual([]);
    expect(lines.join('')).not.toContain('secret-looking');
  });
});
