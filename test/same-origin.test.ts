import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type Harness, harness, type TestUser } from './support/app.ts';

/** DESIGN §6: Origin / Sec-Fetch-Site are checked on every session-authenticated write, JSON included. */

let h: Harness;
let operator: TestUser;
let admin: TestUser;

beforeAll(async () => {
  h = await harness();
  [operator, admin] = await Promise.all([h.user('operator'), h.user('admin')]);
});
afterAll(() => h.close());

const stepsJob = JSON.stringify({ kind: 'script', script: 'steps', params: { count: 1 } });

/** A session-cookie request that carries the right CSRF token; `site` headers vary per case. */
function withSession(user: TestUser, method: string, path: string, site: Record<string, string>, body?: string) {
  return h.app.request(`http://localhost${path}`, {
    method,
    body,
    headers: { Cookie: user.cookie, 'X-CSRF-Token': user.csrfToken, 'Content-Type': 'application/json', ...site },
  });
}

describe('cross-site writes with a session cookie', () => {
  const crossSite: [string, Record<string, string>][] = [
    ['a foreign Origin', { Origin: 'https://evil.example' }],
    ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
    ['Sec-Fetch-Site: cross-site with our own Origin', { 'Sec-Fetch-Site': 'cross-site', Origin: 'http://localhost' }],
    ['Sec-Fetch-Site: same-site', { 'Sec-Fetch-Site': 'same-site', Origin: 'http://localhost' }],
    ['neither header', {}],
  ];

  for (const [what, site] of crossSite) {
    it(`refuses a JSON POST with ${what}, even with the right CSRF token`, async () => {
      const res = await withSession(operator, 'POST', '/api/jobs', site, stepsJob);
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe('csrf');
    });
  }

  it('refuses JSON PUT and DELETE from a foreign Origin, and changes nothing', async () => {
    const evil = { Origin: 'https://evil.example' };
    const put = await withSession(admin, 'PUT', '/api/targets/web', evil, JSON.stringify({ manager: 'systemd' }));
    expect(put.status).toBe(403);
    expect((await withSession(admin, 'DELETE', '/api/targets/web', evil)).status).toBe(403);
    expect((await api(h, admin, 'GET', '/api/targets/web')).status).toBe(404);
  });

  it('accepts the same request from our own origin', async () => {
    const sameOrigin = await withSession(operator, 'POST', '/api/jobs', { Origin: 'http://localhost' }, stepsJob);
    expect(sameOrigin.status).toBe(202);
    const fetchMetadata = await withSession(
      operator,
      'POST',
      '/api/jobs',
      { 'Sec-Fetch-Site': 'same-origin' },
      stepsJob,
    );
    expect(fetchMetadata.status).toBe(202);
  });

  it('lets bearer-token clients (no Origin, no Sec-Fetch-Site) write as before', async () => {
    expect((await api(h, operator, 'POST', '/api/jobs', JSON.parse(stepsJob))).status).toBe(202);
  });

  it('still refuses a cross-site login form', async () => {
    const res = await h.app.request('http://localhost/login', {
      method: 'POST',
      body: 'username=a&password=b',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'https://evil.example' },
    });
    expect(res.status).toBe(403);
  });
});

describe('behind a trusted TLS proxy (a real server, X-Forwarded-Proto: https)', () => {
  let proxied: Harness;
  let server: http.Server;
  let user: TestUser;
  beforeAll(async () => {
    proxied = await harness({ env: { DECKHAND_TRUSTED_PROXIES: '127.0.0.1' } });
    user = await proxied.user('operator');
    server = serve({ fetch: proxied.app.fetch, hostname: '127.0.0.1', port: 0 }) as http.Server;
    await new Promise((r) => server.once('listening', r));
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await proxied?.close();
  });

  /** What an older browser without Sec-Fetch-Site sends through nginx: Origin is the https one. */
  function post(headers: Record<string, string>) {
    const { port } = server.address() as AddressInfo;
    return new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/jobs',
          method: 'POST',
          headers: {
            Host: `deckhand.example`,
            Cookie: user.cookie,
            'X-CSRF-Token': user.csrfToken,
            'Content-Type': 'application/json',
            ...headers,
          },
        },
        (res) => resolve(res.resume() && (res.statusCode ?? 0)),
      );
      req.on('error', reject);
      req.end(stepsJob);
    });
  }

  it('takes the https Origin as our own when the trusted proxy says https', async () => {
    expect(await post({ Origin: 'https://deckhand.example', 'X-Forwarded-Proto': 'https' })).toBe(202);
  });

  it('still refuses it when the proxy does not say so, and a foreign Origin either way', async () => {
    expect(await post({ Origin: 'https://deckhand.example' })).toBe(403);
    expect(await post({ Origin: 'https://evil.example', 'X-Forwarded-Proto': 'https' })).toBe(403);
  });
});
