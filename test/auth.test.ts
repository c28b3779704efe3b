import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { createUser } from '../server/auth/accounts.ts';
import { DEVICE_FAILURES, DEVICES_PER_USER } from '../server/auth/devices.ts';
import { passwordChecks } from '../server/auth/passwords.ts';
import { LIMITS } from '../server/auth/throttle.ts';
import { type Harness, harness } from './support/app.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(() => h.close());

const PASSWORD = 'correct horse battery staple';

function login(username: string, password: string, cookie?: string) {
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded',
    Origin: 'http://localhost',
    'Sec-Fetch-Site': 'same-origin',
  };
  if (cookie) headers.Cookie = cookie;
  return h.app.request('http://localhost/login', {
    method: 'POST',
    headers,
    body: new URLSearchParams({ username, password }).toString(),
  });
}

const sessionCookie = (res: Response) => /deckhand_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];

describe('login (Lucia-style sessions, argon2id)', () => {
  it('stores argon2id password hashes', async () => {
    const u = await createUser(h.database.db, 'hashcheck', 'viewer', PASSWORD);
    const r = await h.database.db.execute(sql`SELECT password_hash FROM users WHERE id = ${u.id}`);
    expect(String(r.rows[0]!.password_hash)).toMatch(/^\$argon2id\$/);
  });

  it('signs in with a HttpOnly, SameSite=Lax cookie holding id.secret; only the secret’s hash is stored', async () => {
    await createUser(h.database.db, 'alice', 'operator', PASSWORD);
    const res = await login('alice', PASSWORD);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const header = res.headers.get('set-cookie') ?? '';
    expect(header).toMatch(/HttpOnly/);
    expect(header).toMatch(/SameSite=Lax/);
    expect(header).not.toMatch(/Secure/); // plain HTTP here
    const token = sessionCookie(res)!;
    const [id, secret] = token.split('.');
    const row = await h.database.db.execute(sql`SELECT encode(secret_hash, 'hex') AS h FROM sessions WHERE id = ${id}`);
    expect(row.rows).toHaveLength(1);
    expect(String(row.rows[0]!.h)).not.toContain(Buffer.from(secret!).toString('hex'));
    const page = await h.app.request('/', { headers: { Cookie: `deckhand_session=${token}`, Accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('alice');
  });

  it('marks the cookie Secure when served over TLS', async () => {
    await createUser(h.database.db, 'tls', 'viewer', PASSWORD);
    const res = await h.app.request('https://localhost/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'https://localhost' },
      body: new URLSearchParams({ username: 'tls', password: PASSWORD }).toString(),
    });
    expect(res.headers.get('set-cookie')).toMatch(/Secure/);
  });

  it('rotates the session id on login: the old cookie stops working', async () => {
    await createUser(h.database.db, 'bob', 'viewer', PASSWORD);
    const first = sessionCookie(await login('bob', PASSWORD))!;
    const second = sessionCookie(await login('bob', PASSWORD, `deckhand_session=${first}`))!;
    expect(second.split('.')[0]).not.toBe(first.split('.')[0]);
    const old = await h.app.request('/api/jobs', { headers: { Cookie: `deckhand_session=${first}` } });
    expect(old.status).toBe(401);
  });

  it('refuses a wrong password or unknown user with the same answer, and audits it', async () => {
    const wrong = await login('alice', 'nope');
    const unknown = await login('nobody-here', 'nope');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(sessionCookie(wrong)).toBeUndefined();
    const audits = await h.database.db.execute(
      sql`SELECT count(*)::int AS n FROM audit_log WHERE action = 'auth.login_failed'`,
    );
    expect(Number(audits.rows[0]!.n)).toBeGreaterThanOrEqual(2);
  });

  it('rate-limits failed logins per account: the right password is refused while locked', async () => {
    await createUser(h.database.db, 'carol', 'viewer', PASSWORD);
    for (let i = 0; i < 5; i++) expect((await login('carol', 'bad')).status).toBe(401);
    const locked = await login('carol', PASSWORD);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('rate-limits failed logins per client address across accounts', async () => {
    // app.request has no socket, so every attempt here comes from the same "unknown" address.
    await h.database.db.execute(sql`DELETE FROM login_throttle`);
    await createUser(h.database.db, 'dave', 'viewer', PASSWORD);
    for (let i = 0; i < 20; i++) await login(`ghost${i}`, 'bad');
    expect((await login('dave', PASSWORD)).status).toBe(429);
    await h.database.db.execute(sql`DELETE FROM login_throttle`);
    expect((await login('dave', PASSWORD)).status).toBe(303);
  });

  it('ends sessions after the idle timeout and after the absolute lifetime', async () => {
    await createUser(h.database.db, 'erin', 'viewer', PASSWORD);
    for (const column of ['last_active_at', 'created_at']) {
      const token = sessionCookie(await login('erin', PASSWORD))!;
      const ago = column === 'last_active_at' ? '13 hours' : '8 days';
      await h.database.db.execute(
        sql`UPDATE sessions SET ${sql.raw(column)} = now() - ${ago}::interval WHERE id = ${token.split('.')[0]}`,
      );
      await h.auth.settle(); // a change behind the web tier's back: wait until its cache has heard the NOTIFY
      const res = await h.app.request('/api/jobs', { headers: { Cookie: `deckhand_session=${token}` } });
      expect(res.status, column).toBe(401);
    }
  });

  it('redirects pages to the login form when signed out', async () => {
    const res = await h.app.request('/', { headers: { Accept: 'text/html' } });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/login');
  });
});

/** A login as if from the peer `ip` (app.request has no socket; @hono/node-server reads it from here). */
function loginFrom(ip: string, username: string, password: string, cookies: string[] = []) {
  return h.app.request(
    'http://localhost/login',
    {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Origin: 'http://localhost',
        ...(cookies.length > 0 && { Cookie: cookies.join('; ') }),
      },
      body: new URLSearchParams({ username, password }).toString(),
    },
    { incoming: { socket: { remoteAddress: ip } } },
  );
}

const deviceCookie = (res: Response) => /deckhand_device=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];

describe('login throttling: atomic, delaying, never locking a user out', () => {
  it('checks at most LIMITS.account passwords in a burst of 100 concurrent wrong guesses; the right one, sent last, is delayed', async () => {
    await createUser(h.database.db, 'burst', 'viewer', PASSWORD);
    const before = passwordChecks.count;
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => loginFrom(`198.51.100.${i + 1}`, 'burst', `guess ${i}`)),
    );
    const checked = passwordChecks.count - before;
    expect(checked).toBeLessThanOrEqual(LIMITS.account);
    expect(checked).toBeGreaterThan(0);
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(checked);
    expect(statuses.filter((s) => s === 429)).toHaveLength(100 - checked);
    const right = await loginFrom('198.51.100.200', 'burst', PASSWORD);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(passwordChecks.count - before).toBe(checked);
  });

  it('lets the real user in from a browser that signed in before, while unknown clients wait', async () => {
    await createUser(h.database.db, 'frank', 'viewer', PASSWORD);
    const first = await loginFrom('192.0.2.10', 'frank', PASSWORD);
    expect(first.status).toBe(303);
    const device = deviceCookie(first)!;
    expect(device).toMatch(/^[a-z2-7]+\.[a-z2-7]+$/);
    expect(first.headers.get('set-cookie')).toMatch(/deckhand_device=[^;]+;.*Path=\/login.*HttpOnly/);
    for (let i = 0; i < 12; i++) await loginFrom(`203.0.113.${i + 1}`, 'frank', 'attacker guess');
    expect((await loginFrom('203.0.113.99', 'frank', PASSWORD)).status).toBe(429);
    // The same address as the attacker's (one proxy in front of everyone), but a known browser.
    const known = await loginFrom('203.0.113.99', 'frank', PASSWORD, [`deckhand_device=${device}`]);
    expect(known.status).toBe(303);
    expect(sessionCookie(known)).toBeDefined();
    // Someone else's device cookie is no key to this account.
    await createUser(h.database.db, 'gina', 'viewer', PASSWORD);
    expect((await loginFrom('192.0.2.11', 'gina', PASSWORD)).status).toBe(303);
    const ginaDevice = deviceCookie(await loginFrom('192.0.2.11', 'gina', PASSWORD))!;
    expect((await loginFrom('192.0.2.11', 'frank', PASSWORD, [`deckhand_device=${ginaDevice}`])).status).toBe(429);
  });

  it('a known device stops counting as known after its own wrong guesses', async () => {
    await createUser(h.database.db, 'hank', 'viewer', PASSWORD);
    const device = deviceCookie(await loginFrom('192.0.2.20', 'hank', PASSWORD))!;
    for (let i = 0; i < 10; i++) await loginFrom(`203.0.113.${i + 1}`, 'hank', 'attacker guess');
    const cookie = `deckhand_device=${device}`;
    const before = passwordChecks.count;
    const guesses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => loginFrom('192.0.2.20', 'hank', `stolen cookie ${i}`, [cookie])),
    );
    expect(passwordChecks.count - before).toBe(DEVICE_FAILURES);
    expect(guesses.filter((r) => r.status === 429)).toHaveLength(20 - DEVICE_FAILURES);
    expect((await loginFrom('192.0.2.20', 'hank', PASSWORD, [cookie])).status).toBe(429);
  });

  it('delays grow exponentially, and a correct password after the wait clears them', async () => {
    await createUser(h.database.db, 'ivy', 'viewer', PASSWORD);
    const retryAfters: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < LIMITS.account; i++) await loginFrom('192.0.2.30', 'ivy', 'wrong');
      const delayed = await loginFrom('192.0.2.30', 'ivy', 'wrong');
      expect(delayed.status).toBe(429);
      retryAfters.push(Number(delayed.headers.get('retry-after')));
      // The wait is over (as if time had passed); the next wrong guess is checked and doubles it.
      await h.database.db.execute(sql`UPDATE login_throttle SET next_attempt_at = now() WHERE key = 'user:ivy'`);
      expect((await loginFrom('192.0.2.30', 'ivy', 'wrong')).status).toBe(401);
      const again = await loginFrom('192.0.2.30', 'ivy', 'wrong');
      expect(again.status).toBe(429);
      expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(retryAfters.at(-1)! * 1.5);
      await h.database.db.execute(sql`UPDATE login_throttle SET next_attempt_at = now() WHERE key = 'user:ivy'`);
      expect((await loginFrom('192.0.2.30', 'ivy', PASSWORD)).status).toBe(303);
    }
    // Each round started afresh after the successful sign-in: the same first delay every time.
    expect(new Set(retryAfters).size).toBe(1);
    expect(retryAfters[0]).toBeLessThanOrEqual(LIMITS.firstDelaySecs);
  });
});

describe('login throttle housekeeping', () => {
  it('forgets day-old counters that hold nothing back, on a successful sign-in', async () => {
    await h.database.db.execute(
      sql`INSERT INTO login_throttle (key, failures, window_start, next_attempt_at) VALUES
            ('user:stale-guess', 3, now() - interval '2 days', now() - interval '2 days'),
            ('ip:192.0.2.250', 20, now() - interval '2 days', NULL),
            ('user:still-delayed', 30, now() - interval '2 days', now() + interval '1 hour')`,
    );
    await createUser(h.database.db, 'lena', 'viewer', PASSWORD);
    expect((await loginFrom('192.0.2.40', 'lena', PASSWORD)).status).toBe(303);
    const left = await h.database.db.execute(
      sql`SELECT key FROM login_throttle WHERE key IN ('user:stale-guess', 'ip:192.0.2.250', 'user:still-delayed')`,
    );
    expect(left.rows).toEqual([{ key: 'user:still-delayed' }]);
  });
});

describe('known devices', () => {
  it('keeps a user’s most recent DEVICES_PER_USER devices, however many cookie-less sign-ins there are', async () => {
    const u = await createUser(h.database.db, 'cookieless', 'viewer', PASSWORD);
    const first = deviceCookie(await loginFrom('192.0.2.60', 'cookieless', PASSWORD))!;
    for (let i = 0; i < DEVICES_PER_USER + 5; i++) {
      expect((await loginFrom('192.0.2.60', 'cookieless', PASSWORD)).status).toBe(303);
    }
    const rows = await h.database.db.execute(sql`SELECT id FROM login_devices WHERE user_id = ${u.id}`);
    expect(rows.rows).toHaveLength(DEVICES_PER_USER);
    expect(rows.rows.map((r) => r.id)).not.toContain(first.split('.')[0]);
  });
});

describe('DECKHAND_TRUSTED_PROXIES: forwarded headers count only from a trusted peer', () => {
  let proxied: Harness;
  const servers: ServerType[] = [];
  let direct: string;
  let behindProxy: string;
  async function listen(app: Harness['app']): Promise<string> {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    servers.push(server);
    await new Promise((r) => server.once('listening', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  beforeAll(async () => {
    proxied = await harness({ env: { DECKHAND_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1' } });
    direct = await listen(h.app);
    behindProxy = await listen(proxied.app);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await proxied?.close();
  });

  const post = (base: string, username: string, password: string, headers: Record<string, string>) =>
    fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: base, ...headers },
      body: new URLSearchParams({ username, password }).toString(),
    });
  const failedFrom = async (database: Harness['database'], username: string) => {
    const r = await database.db.execute(
      sql`SELECT details->>'ip' AS ip FROM audit_log WHERE action = 'auth.login_failed' AND subject = ${username}`,
    );
    return r.rows.map((row) => row.ip);
  };

  it('takes the client from X-Forwarded-For (rightmost untrusted hop) only behind a trusted proxy', async () => {
    const spoofed = { 'X-Forwarded-For': '192.0.2.66, 198.51.100.7, 10.1.2.3' };
    expect((await post(behindProxy, 'xff-user', 'wrong', spoofed)).status).toBe(401);
    expect(await failedFrom(proxied.database, 'xff-user')).toEqual(['198.51.100.7']);
    expect((await post(direct, 'xff-user', 'wrong', spoofed)).status).toBe(401);
    expect(await failedFrom(h.database, 'xff-user')).toEqual(['127.0.0.1']);
  });

  it('limits each real client behind the proxy on its own, and ignores a spoofed header without one', async () => {
    await h.database.db.execute(sql`DELETE FROM login_throttle`);
    await createUser(proxied.database.db, 'judy', 'viewer', PASSWORD);
    await createUser(h.database.db, 'judy', 'viewer', PASSWORD);
    for (let i = 0; i < LIMITS.ip; i++) {
      await post(behindProxy, `ghost${i}`, 'bad', { 'X-Forwarded-For': '203.0.113.50' });
      await post(direct, `ghost${i}`, 'bad', { 'X-Forwarded-For': `203.0.113.${i}` });
    }
    expect((await post(behindProxy, 'judy', PASSWORD, { 'X-Forwarded-For': '203.0.113.50' })).status).toBe(429);
    expect((await post(behindProxy, 'judy', PASSWORD, { 'X-Forwarded-For': '203.0.113.51' })).status).toBe(303);
    // Directly, the header is anyone's to send: every attempt above came from 127.0.0.1.
    expect((await post(direct, 'judy', PASSWORD, { 'X-Forwarded-For': '203.0.113.77' })).status).toBe(429);
    await h.database.db.execute(sql`DELETE FROM login_throttle`);
  });

  it('sets the Secure flag from X-Forwarded-Proto only behind a trusted proxy', async () => {
    await createUser(proxied.database.db, 'kim', 'viewer', PASSWORD);
    await createUser(h.database.db, 'kim', 'viewer', PASSWORD);
    const https = { 'X-Forwarded-Proto': 'https' };
    // The browser is on https://… at the proxy, and says so in Origin.
    const viaProxy = await post(behindProxy, 'kim', PASSWORD, {
      ...https,
      Origin: behindProxy.replace('http:', 'https:'),
    });
    expect(viaProxy.status).toBe(303);
    expect(viaProxy.headers.get('set-cookie')).toMatch(/deckhand_session=[^;]+;[^,]*Secure/);
    const spoofed = await post(direct, 'kim', PASSWORD, https);
    expect(spoofed.status).toBe(303);
    expect(spoofed.headers.get('set-cookie')).toMatch(/deckhand_session=/);
    expect(spoofed.headers.get('set-cookie')).not.toMatch(/Secure/);
  });

  it('refuses a setting that is not a list of addresses and CIDRs', () => {
    expect(() => loadConfig({ DECKHAND_TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/DECKHAND_TRUSTED_PROXIES/);
    expect(() => loadConfig({ DECKHAND_TRUSTED_PROXIES: 'proxy.example' })).toThrow(/DECKHAND_TRUSTED_PROXIES/);
    expect(loadConfig({ DECKHAND_TRUSTED_PROXIES: ' 10.0.0.1 , ::1, fd00::/8' }).DECKHAND_TRUSTED_PROXIES).toEqual([
      '10.0.0.1',
      '::1',
      'fd00::/8',
    ]);
    expect(loadConfig({}).DECKHAND_TRUSTED_PROXIES).toEqual([]);
  });
});
