import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeAccount, ensureInitialAdmin } from '../server/auth/accounts.ts';
import { api, type Harness, harness, type TestUser } from './support/app.ts';

let h: Harness;
let dataDir: string;
let initialPassword: string;
beforeAll(async () => {
  h = await harness();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-admin-'));
  // First, on the empty users table, as `npm start` does.
  initialPassword = (await ensureInitialAdmin(h.database.db, dataDir))!;
});
afterAll(async () => {
  await h.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new password 42';

function form(url: string, fields: Record<string, string>, cookie?: string) {
  return h.app.request(`http://localhost${url}`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Origin: 'http://localhost',
      ...(cookie && { Cookie: cookie }),
    },
    body: new URLSearchParams(fields).toString(),
  });
}

const sessionOf = (res: Response) => {
  const v = /deckhand_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  return v ? `deckhand_session=${v}` : undefined;
};
const csrfOf = async (cookie: string) => {
  const page = await h.app.request('http://localhost/account/password', {
    headers: { Cookie: cookie, Accept: 'text/html' },
  });
  return /"X-CSRF-Token":"([^"]+)"/.exec((await page.text()).replaceAll('&quot;', '"'))?.[1] ?? '';
};

/** A JSON call as a browser session: cookie, same origin, CSRF token. */
async function asSession(cookie: string, method: string, url: string, body?: unknown) {
  const res = await h.app.request(`http://localhost${url}`, {
    method,
    headers: {
      Cookie: cookie,
      Origin: 'http://localhost',
      'Content-Type': 'application/json',
      'X-CSRF-Token': await csrfOf(cookie),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json().catch(() => null), headers: res.headers };
}

/** Tokens are made from a signed-in session (a token cannot make more of itself). */
const mint = (user: TestUser, body: unknown) => asSession(user.cookie, 'POST', '/api/tokens', body);

const status = async (cookie: string, url = '/api/jobs') =>
  (await h.app.request(`http://localhost${url}`, { headers: { Cookie: cookie } })).status;

describe('the one-time admin password', () => {
  it('must be changed at first sign-in: pages redirect, the API answers 403 password_change_required', async () => {
    const signIn = await form('/login', { username: 'admin', password: initialPassword });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get('location')).toBe('/account/password');
    const cookie = sessionOf(signIn)!;
    for (const page of ['/', '/targets', '/users', '/tokens']) {
      const r = await h.app.request(`http://localhost${page}`, { headers: { Cookie: cookie, Accept: 'text/html' } });
      expect([r.status, r.headers.get('location')], page).toEqual([302, '/account/password']);
    }
    const jobs = await h.app.request('http://localhost/api/jobs', { headers: { Cookie: cookie } });
    expect(jobs.status).toBe(403);
    expect((await jobs.json()).error.code).toBe('password_change_required');
    const mint = await asSession(cookie, 'POST', '/api/tokens', {});
    expect([mint.status, mint.json.error.code]).toEqual([403, 'password_change_required']);
    const page = await h.app.request('http://localhost/account/password', {
      headers: { Cookie: cookie, Accept: 'text/html' },
    });
    expect(page.status).toBe(200);
    const html = (await page.text()).replaceAll('&quot;', '"');
    expect(html).toContain('one-time password');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const base = { _csrf: csrf, newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD };
    const wrong = await form('/account/password', { ...base, currentPassword: 'not it at all' }, cookie);
    expect(wrong.status).toBe(400);
    const noCsrf = await form('/account/password', { ...base, _csrf: '', currentPassword: initialPassword }, cookie);
    expect(noCsrf.status).toBe(403);
    const short = await form(
      '/account/password',
      { ...base, currentPassword: initialPassword, newPassword: 'short', confirmPassword: 'short' },
      cookie,
    );
    expect(short.status).toBe(400);
    const changed = await form('/account/password', { ...base, currentPassword: initialPassword }, cookie);
    expect([changed.status, changed.headers.get('location')]).toEqual([303, '/']);
    const rotated = sessionOf(changed)!;
    expect(rotated).not.toBe(cookie);
    expect(await status(cookie)).toBe(401);
    expect(await status(rotated)).toBe(200);
    expect(await status(rotated, '/')).toBe(200);
    expect((await form('/login', { username: 'admin', password: initialPassword })).status).toBe(401);
    expect((await form('/login', { username: 'admin', password: NEW_PASSWORD })).headers.get('location')).toBe('/');
    const audit = await h.database.db.execute(
      sql`SELECT details::text AS d FROM audit_log WHERE action = 'user.update'`,
    );
    expect(audit.rows.map((r) => r.d).join()).not.toContain(NEW_PASSWORD);
  });
});

describe('changing your own password', () => {
  it('limits guesses of the current password per user, so a stolen session cannot find it', async () => {
    const u = await h.user('operator', 'guesser');
    const change = (currentPassword: string) =>
      api(h, u, 'POST', '/api/account/password', { currentPassword, newPassword: NEW_PASSWORD });
    const wrong = await Promise.all(Array.from({ length: 12 }, (_, i) => change(`guess number ${i}`)));
    expect(wrong.filter((r) => r.status === 400)).toHaveLength(5);
    expect(wrong.filter((r) => r.status === 429)).toHaveLength(7);
    const right = await change(PASSWORD);
    expect([right.status, right.json.error.code]).toEqual([429, 'too_many_attempts']);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
    await h.database.db.execute(sql`DELETE FROM login_throttle WHERE key = ${`pwchange:${u.id}`}`);
    expect((await change(PASSWORD)).status).toBe(200);
    expect(await status(u.cookie)).toBe(401); // the change ended the user's other sessions
  });
});

describe('users API and page (admins only)', () => {
  let admin: TestUser;
  let viewer: TestUser;
  beforeAll(async () => {
    admin = await h.user('admin', 'boss');
    viewer = await h.user('viewer', 'vic');
  });

  it('lists and creates users; others get 403; bad input is a 400 naming the field', async () => {
    const list = await api(h, admin, 'GET', '/api/users');
    expect(list.status).toBe(200);
    expect(list.json.items.map((u: { username: string }) => u.username)).toEqual(
      expect.arrayContaining(['admin', 'boss', 'vic']),
    );
    expect(JSON.stringify(list.json)).not.toMatch(/argon2|password_hash|passwordHash/);
    expect((await api(h, viewer, 'GET', '/api/users')).status).toBe(403);
    expect(
      (await api(h, viewer, 'POST', '/api/users', { username: 'x', role: 'admin', password: PASSWORD })).status,
    ).toBe(403);

    const made = await api(h, admin, 'POST', '/api/users', { username: 'nora', role: 'operator', password: PASSWORD });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ username: 'nora', role: 'operator', disabled: false, mustChangePassword: false });
    expect(
      (await api(h, admin, 'POST', '/api/users', { username: 'nora', role: 'viewer', password: PASSWORD })).status,
    ).toBe(409);
    const badRole = await api(h, admin, 'POST', '/api/users', { username: 'y', role: 'root', password: PASSWORD });
    expect(badRole.status).toBe(400);
    expect(badRole.json.error.details.fieldErrors).toHaveProperty('role');
    const extra = await api(h, admin, 'POST', '/api/users', {
      username: 'y',
      role: 'viewer',
      password: PASSWORD,
      isRoot: true,
    });
    expect(extra.status).toBe(400);
    const weak = await api(h, admin, 'POST', '/api/users', { username: 'y', role: 'viewer', password: 'short' });
    expect(weak.json.error.details.fieldErrors).toHaveProperty('password');
    const badPatch = await api(h, admin, 'PATCH', '/api/users/nora', { role: 'operator', colour: 'red' });
    expect(badPatch.status).toBe(400);
    expect((await api(h, admin, 'PATCH', '/api/users/nora', {})).status).toBe(400);
    expect((await api(h, admin, 'PATCH', '/api/users/nobody', { role: 'viewer' })).status).toBe(404);
    expect((await api(h, admin, 'PATCH', '/api/users/nora', 'not json')).status).toBe(400);
  });

  it('a role change ends the user’s sessions at once; their token carries the new role', async () => {
    const op = await h.user('operator', 'otto');
    expect(await status(op.cookie)).toBe(200);
    const r = await api(h, admin, 'PATCH', '/api/users/otto', { role: 'viewer' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ role: 'viewer', sessionsEnded: 1 });
    expect(await status(op.cookie)).toBe(401);
    const enqueue = await api(h, op, 'POST', '/api/jobs', { kind: 'script', script: 'steps', params: { count: 1 } });
    expect(enqueue.status).toBe(403);
  });

  it('an admin changing their own role or password keeps a rotated session and ends their others', async () => {
    const me = await h.user('admin', 'ada');
    const other = await h.user('admin', 'ada2');
    const second = (await form('/login', { username: 'ada', password: PASSWORD })).headers;
    const secondCookie = `deckhand_session=${/deckhand_session=([^;]+)/.exec(second.get('set-cookie')!)![1]}`;
    const r = await asSession(me.cookie, 'PATCH', '/api/users/ada', { password: NEW_PASSWORD });
    expect(r.status).toBe(200);
    const rotated = sessionOf(new Response(null, { headers: r.headers }))!;
    expect(rotated).toBeDefined();
    expect(await status(me.cookie)).toBe(401);
    expect(await status(secondCookie)).toBe(401);
    expect(await status(rotated)).toBe(200);
    // A session without the CSRF token changes nothing.
    const forged = await h.app.request('http://localhost/api/users/ada2', {
      method: 'PATCH',
      headers: { Cookie: rotated, Origin: 'http://localhost', 'Content-Type': 'application/json' },
      body: JSON.stringify({ role: 'viewer' }),
    });
    expect(forged.status).toBe(403);
    expect((await api(h, other, 'GET', '/api/users')).status).toBe(200);
  });

  it('disabling ends every session, refuses tokens and sign-in; enabling restores the tokens', async () => {
    const u = await h.user('operator', 'dora');
    expect((await api(h, u, 'GET', '/api/jobs')).status).toBe(200);
    const r = await api(h, admin, 'PATCH', '/api/users/dora', { disabled: true });
    expect(r.json).toMatchObject({ disabled: true, sessionsEnded: 1 });
    expect(await status(u.cookie)).toBe(401);
    expect((await api(h, u, 'GET', '/api/jobs')).status).toBe(401);
    expect((await form('/login', { username: 'dora', password: PASSWORD })).status).toBe(403);
    await api(h, admin, 'PATCH', '/api/users/dora', { disabled: false });
    expect((await api(h, u, 'GET', '/api/jobs')).status).toBe(200);
  });

  it('never leaves Deckhand without an enabled admin', async () => {
    const solo = await harness();
    try {
      const only = await solo.user('admin', 'only');
      const demote = await api(solo, only, 'PATCH', '/api/users/only', { role: 'operator' });
      expect([demote.status, demote.json.error.code]).toEqual([409, 'conflict']);
      expect((await api(solo, only, 'PATCH', '/api/users/only', { disabled: true })).status).toBe(409);
      expect((await api(solo, only, 'GET', '/api/users')).json.items[0]).toMatchObject({
        role: 'admin',
        disabled: false,
      });
      // Two admins demoting each other at once, again and again: one of them always stays an admin.
      await solo.user('admin', 'second');
      const actor = { id: null, name: 'test' };
      for (let round = 0; round < 20; round++) {
        await solo.database.db.execute(sql`UPDATE users SET role = 'admin', disabled = false`);
        const outcomes = await Promise.all([
          changeAccount(solo.database.db, actor, 'second', { role: 'viewer' }, null).then(
            () => 'ok',
            (e) => e.name,
          ),
          changeAccount(solo.database.db, actor, 'only', { disabled: true }, null).then(
            () => 'ok',
            (e) => e.name,
          ),
        ]);
        expect(outcomes.sort(), `round ${round}`).toEqual(['LastAdminError', 'ok']);
      }
    } finally {
      await solo.close();
    }
  });

  it('serves the users page to admins, with working forms', async () => {
    const page = await h.app.request('http://localhost/users', {
      headers: { Cookie: admin.cookie, Accept: 'text/html' },
    });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('data-user="nora"');
    expect(html).not.toContain('argon2');
    const denied = await h.app.request('http://localhost/users', {
      headers: { Cookie: viewer.cookie, Accept: 'text/html' },
    });
    expect(denied.status).toBe(403);
    const headers = {
      Cookie: admin.cookie,
      Origin: 'http://localhost',
      'HX-Request': 'true',
      'X-CSRF-Token': admin.csrfToken,
      'Content-Type': 'application/x-www-form-urlencoded',
    };
    const setRole = await h.app.request('http://localhost/ui/users/nora', {
      method: 'POST',
      headers,
      body: 'role=viewer',
    });
    expect(setRole.status).toBe(204);
    const add = await h.app.request('http://localhost/ui/users', {
      method: 'POST',
      headers,
      body: new URLSearchParams({
        username: 'pat',
        role: 'viewer',
        password: PASSWORD,
        mustChangePassword: 'true',
      }).toString(),
    });
    expect(add.status).toBe(204);
    const users = (await api(h, admin, 'GET', '/api/users')).json.items;
    expect(users).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ username: 'nora', role: 'viewer' }),
        expect.objectContaining({ username: 'pat', mustChangePassword: true }),
      ]),
    );
  });
});

describe('tokens API and page', () => {
  let admin: TestUser;
  let viewer: TestUser;
  let other: TestUser;
  beforeAll(async () => {
    admin = await h.user('admin', 'tokenboss');
    viewer = await h.user('viewer', 'tokenvic');
    other = await h.user('operator', 'tokenop');
  });

  it('creates a token for yourself that expires in 90 days by default, shown once, audited without it', async () => {
    const r = await mint(viewer, {});
    expect(r.status).toBe(201);
    expect(r.json.token).toMatch(/^dh_[a-z2-7]+\.[a-z2-7]+$/);
    const days = (Date.parse(r.json.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThanOrEqual(90);
    const fresh = { ...viewer, token: r.json.token };
    expect((await api(h, fresh, 'GET', '/api/jobs')).status).toBe(200);
    const mine = (await api(h, viewer, 'GET', '/api/tokens')).json.items;
    expect(mine.every((t: { user: string }) => t.user === 'tokenvic')).toBe(true);
    const listed = mine.find((t: { id: string }) => t.id === r.json.id);
    expect(listed.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(mine)).not.toContain(r.json.token.split('.')[1]);
    const audits = await h.database.db.execute(
      sql`SELECT details::text AS d FROM audit_log WHERE action LIKE 'token.%'`,
    );
    expect(audits.rows.length).toBeGreaterThan(0);
    expect(audits.rows.map((a) => a.d).join()).not.toContain(r.json.token.split('.')[1]);
  });

  it('records the last use at most once a minute', async () => {
    const r = await mint(viewer, { expiresInDays: 1 });
    const t = { ...viewer, token: r.json.token };
    await api(h, t, 'GET', '/api/jobs');
    await h.database.db.execute(sql`UPDATE api_tokens SET last_used_at = '2020-01-01' WHERE id = ${r.json.id}`);
    await h.auth.settle(); // a change behind the web tier's back: wait until its cache has heard the NOTIFY
    await api(h, t, 'GET', '/api/jobs');
    const touched = await h.database.db.execute(
      sql`SELECT last_used_at > now() - interval '1 minute' AS recent FROM api_tokens WHERE id = ${r.json.id}`,
    );
    expect(touched.rows[0]!.recent).toBe(true);
    await h.database.db.execute(
      sql`UPDATE api_tokens SET last_used_at = now() - interval '30 seconds' WHERE id = ${r.json.id}`,
    );
    await h.auth.settle();
    const before = await h.database.db.execute(
      sql`SELECT last_used_at::text AS at FROM api_tokens WHERE id = ${r.json.id}`,
    );
    await api(h, t, 'GET', '/api/jobs');
    const after = await h.database.db.execute(
      sql`SELECT last_used_at::text AS at FROM api_tokens WHERE id = ${r.json.id}`,
    );
    expect(after.rows[0]!.at).toBe(before.rows[0]!.at);
  });

  it('a token cannot make tokens, so revoking a leaked one ends it; expiry is capped at a year', async () => {
    const r = await api(h, viewer, 'POST', '/api/tokens', {});
    expect([r.status, r.json.error.code]).toEqual([403, 'session_required']);
    expect((await mint(viewer, { expiresInDays: 3650 })).status).toBe(400);
    expect((await mint(viewer, { expiresInDays: 365 })).status).toBe(201);
  });

  it('admins see and make everyone’s tokens; others only their own', async () => {
    const forOther = await mint(admin, { user: 'tokenop', expiresInDays: 7 });
    expect([forOther.status, forOther.json.user]).toEqual([201, 'tokenop']);
    expect((await mint(viewer, { user: 'tokenop' })).status).toBe(403);
    const bad = await mint(viewer, { expiresInDays: 0, scope: 'all' });
    expect(bad.status).toBe(400);
    expect((await mint(admin, { user: 'ghost' })).json.error.details.fieldErrors).toHaveProperty('user');
    const all = (await api(h, admin, 'GET', '/api/tokens')).json.items.map((t: { user: string }) => t.user);
    expect(all).toEqual(expect.arrayContaining(['tokenvic', 'tokenop', 'tokenboss']));
    const one = (await api(h, admin, 'GET', '/api/tokens?user=tokenop')).json.items;
    expect(new Set(one.map((t: { user: string }) => t.user))).toEqual(new Set(['tokenop']));
    expect((await api(h, admin, 'GET', '/api/tokens?user=%2F..')).status).toBe(400);
  });

  it('revokes: refused on the very next request; own or admin only', async () => {
    const mine = await mint(other, {});
    const token = { ...other, token: mine.json.token };
    expect((await api(h, token, 'GET', '/api/jobs')).status).toBe(200);
    expect((await api(h, viewer, 'DELETE', `/api/tokens/${mine.json.id}`)).status).toBe(404);
    expect((await api(h, viewer, 'DELETE', '/api/tokens/NOT_AN_ID')).status).toBe(400);
    expect((await api(h, token, 'DELETE', `/api/tokens/${mine.json.id}`)).status).toBe(204);
    expect((await api(h, token, 'GET', '/api/jobs')).status).toBe(401);
    const listed = (await api(h, other, 'GET', '/api/tokens')).json.items.find(
      (t: { id: string }) => t.id === mine.json.id,
    );
    expect(listed.revokedAt).not.toBeNull();
    const byAdmin = await mint(admin, { user: 'tokenop' });
    expect((await api(h, admin, 'DELETE', `/api/tokens/${byAdmin.json.id}`)).status).toBe(204);
    expect((await api(h, { ...other, token: byAdmin.json.token }, 'GET', '/api/jobs')).status).toBe(401);
    const audits = await h.database.db.execute(
      sql`SELECT actor, subject FROM audit_log WHERE action = 'token.revoke' ORDER BY id`,
    );
    expect(audits.rows).toEqual([
      { actor: 'tokenop', subject: 'tokenop' },
      { actor: 'tokenboss', subject: 'tokenop' },
    ]);
  });

  it('serves the tokens page: create (shown once) and revoke with the CSRF token', async () => {
    const headers = {
      Cookie: viewer.cookie,
      Origin: 'http://localhost',
      'HX-Request': 'true',
      'X-CSRF-Token': viewer.csrfToken,
      'Content-Type': 'application/x-www-form-urlencoded',
    };
    const made = await h.app.request('http://localhost/ui/tokens', {
      method: 'POST',
      headers,
      body: 'expiresInDays=30',
    });
    expect(made.status).toBe(201);
    const token = /dh_[a-z2-7]+\.[a-z2-7]+/.exec(await made.text())![0];
    const page = await (
      await h.app.request('http://localhost/tokens', { headers: { Cookie: viewer.cookie, Accept: 'text/html' } })
    ).text();
    const id = token.slice(3).split('.')[0]!;
    expect(page).toContain(id.slice(0, 8));
    expect(page).not.toContain(token.split('.')[1]);
    expect(page).not.toContain('tokenop');
    const noCsrf = await h.app.request(`http://localhost/ui/tokens/${id}/revoke`, {
      method: 'POST',
      headers: { ...headers, 'X-CSRF-Token': 'wrong' },
    });
    expect(noCsrf.status).toBe(403);
    const revoked = await h.app.request(`http://localhost/ui/tokens/${id}/revoke`, { method: 'POST', headers });
    expect(revoked.status).toBe(204);
    expect((await api(h, { ...viewer, token }, 'GET', '/api/jobs')).status).toBe(401);
  });
});
