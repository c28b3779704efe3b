import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../config.ts';
import { connectDatabase, type Database } from '../db/client.ts';
import { revokeToken } from '../db/tokens.ts';
import { kindEnv } from '../jobs/lib/kind.ts';
import { createApp } from '../server/app.ts';
import { AuthCache } from '../server/auth/cache.ts';
import { createApiToken } from '../server/auth/tokens.ts';
import { eventually, type Harness, harness, type TestUser } from './support/app.ts';

/**
 * Two web processes over one database: `h.app` (A) and `b`, each with its own pool and its own
 * token/session cache. A change made through A (or on the host) must be seen by B's next request,
 * though B had just checked the same token or session and cached that check.
 */
let h: Harness;
let other: Database;
let bCache: AuthCache;
let b: ReturnType<typeof createApp>;
let admin: TestUser;
const log = createLogger('silent', 'web-b');
beforeAll(async () => {
  h = await harness();
  other = connectDatabase(h.database.url, 4);
  bCache = new AuthCache(other.db, log);
  await bCache.ready;
  b = createApp({
    config: h.config,
    db: other.db,
    producer: h.producer,
    registry: h.registry,
    env: kindEnv(h.config, other.db),
    log,
    host: h.host,
    auth: bCache,
  });
  admin = await h.user('admin');
});
afterAll(async () => {
  await bCache.close();
  await other.close();
  await h.close();
});

type App = ReturnType<typeof createApp>;
const bearer = (app: App, token: string, method = 'GET', url = '/api/jobs', body?: unknown) =>
  app.request(`http://localhost${url}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const withCookie = (app: App, cookie: string, url = '/api/jobs') =>
  app.request(`http://localhost${url}`, { headers: { Cookie: cookie } });
const tokenId = (token: string) => token.slice(3).split('.')[0]!;

describe('token and session checks cached per web process', () => {
  it('a token revoked through one process is refused by the next request to another', async () => {
    const u = await h.user('operator');
    expect((await bearer(b, u.token)).status).toBe(200); // B has cached the check
    expect((await bearer(b, u.token)).status).toBe(200);
    expect((await bearer(h.app, admin.token, 'DELETE', `/api/tokens/${tokenId(u.token)}`)).status).toBe(204);
    expect((await bearer(b, u.token)).status).toBe(401);
    expect((await bearer(h.app, u.token)).status).toBe(401);
  });

  it('a token revoked on the host (deckhand token revoke, no web process involved) is refused too', async () => {
    const u = await h.user('operator');
    expect((await bearer(b, u.token)).status).toBe(200);
    expect(await revokeToken(h.database.db, tokenId(u.token))).toBe(true);
    await bCache.settle(); // what a route that changes accounts awaits; the CLI's change is heard as quickly
    expect((await bearer(b, u.token)).status).toBe(401);
  });

  it('a role change through one process is what another process enforces next', async () => {
    const u = await h.user('operator');
    expect((await withCookie(b, u.cookie)).status).toBe(200);
    expect((await bearer(b, u.token, 'POST', '/api/jobs', { kind: 'nope' })).status).toBe(400);
    const patch = await bearer(h.app, admin.token, 'PATCH', `/api/users/${u.username}`, { role: 'viewer' });
    expect(patch.status).toBe(200);
    // The token lives on with the new role: a request only an operator gets past the role check for
    // (an unknown kind is a 400 after it) is now refused.
    expect((await bearer(b, u.token, 'POST', '/api/jobs', { kind: 'nope' })).status).toBe(403);
    // The session ended with the role change.
    expect((await withCookie(b, u.cookie)).status).toBe(401);
  });

  it('a disabled user is refused at once by every process, by token and by session', async () => {
    const u = await h.user('viewer');
    expect((await bearer(b, u.token)).status).toBe(200);
    expect((await withCookie(b, u.cookie)).status).toBe(200);
    expect((await bearer(h.app, admin.token, 'PATCH', `/api/users/${u.username}`, { disabled: true })).status).toBe(
      200,
    );
    expect((await bearer(b, u.token)).status).toBe(401);
    expect((await withCookie(b, u.cookie)).status).toBe(401);
  });

  it('a logout through one process ends the session in another', async () => {
    const u = await h.user('viewer');
    expect((await withCookie(b, u.cookie)).status).toBe(200);
    const out = await h.app.request('http://localhost/logout', {
      method: 'POST',
      redirect: 'manual',
      headers: { Cookie: u.cookie, Origin: 'http://localhost', 'X-CSRF-Token': u.csrfToken },
    });
    expect(out.status).toBe(303);
    expect((await withCookie(b, u.cookie)).status).toBe(401);
  });

  it('while its listener is down, a process reads every check, so a revoke made meanwhile holds', async () => {
    const u = await h.user('operator');
    const token = await createApiToken(h.database.db, u.id, null);
    expect((await bearer(b, token)).status).toBe(200);
    // Cut every listening connection of this database (A's and B's), as a PostgreSQL restart would.
    await h.database.pool.query(
      `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
       WHERE datname = current_database() AND query = 'LISTEN deckhand_auth'`,
    );
    await eventually(async () => !bCache.isListening(), 5000, "B to notice its listener's loss");
    expect(await revokeToken(h.database.db, tokenId(token))).toBe(true); // its NOTIFY reaches nobody
    expect((await bearer(b, token)).status).toBe(401);
    await eventually(async () => bCache.isListening(), 10_000, 'B to listen again');
    expect((await bearer(b, token)).status).toBe(401);
    // And once listening again, changes are heard again.
    expect((await bearer(b, u.token)).status).toBe(200);
    expect(await revokeToken(h.database.db, tokenId(u.token))).toBe(true);
    await bCache.settle();
    expect((await bearer(b, u.token)).status).toBe(401);
  });

  /** Counts the prepared statements of B's pool by name while `run` runs. */
  async function statementsDuring(run: () => Promise<unknown>): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const spy = vi.spyOn(other.pool, 'query');
    try {
      await run();
      for (const [arg] of spy.mock.calls) {
        const name = (arg as { name?: string } | undefined)?.name;
        if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
      }
    } finally {
      spy.mockRestore();
    }
    return counts;
  }

  it('fifty concurrent requests of one token on a cold cache read its check once and record its use once', async () => {
    const u = await h.user('operator');
    const counts = await statementsDuring(async () => {
      const answers = await Promise.all(Array.from({ length: 50 }, () => bearer(b, u.token)));
      expect(answers.map((r) => r.status)).toEqual(Array(50).fill(200));
    });
    expect(counts.get('deckhand_validate_token_v3')).toBe(1);
    expect(counts.get('deckhand_touch_token') ?? 0).toBeLessThanOrEqual(1);
  });

  it('fifty concurrent requests of one session on a cold cache read its check once', async () => {
    const u = await h.user('viewer');
    const counts = await statementsDuring(async () => {
      const answers = await Promise.all(Array.from({ length: 50 }, () => withCookie(b, u.cookie)));
      expect(answers.map((r) => r.status)).toEqual(Array(50).fill(200));
    });
    expect(counts.get('deckhand_validate_session')).toBe(1);
  });

  it('a check asked for after an invalidation never joins a read that began before it', async () => {
    const cache = new AuthCache(other.db, log);
    await cache.ready;
    try {
      let reads = 0;
      const read = () => new Promise<number>((resolve) => setTimeout(() => resolve(++reads), 50));
      const first = cache.shared('token', 't1', cache.begin(), read);
      const joined = cache.shared('token', 't1', cache.begin(), read);
      cache.forget('token', 't1'); // e.g. a revoke heard while the first read was in flight
      const after = cache.shared('token', 't1', cache.begin(), read);
      expect(await Promise.all([first, joined, after])).toEqual([1, 1, 2]);
    } finally {
      await cache.close();
    }
  });
});
