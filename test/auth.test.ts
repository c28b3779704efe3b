import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../db/users.ts';
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
