import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRestartState } from '../db/settings.ts';
import { invalidateUserSessions } from '../server/auth/sessions.ts';
import { type Harness, harness, type TestUser } from './support/app.ts';

const PASSWORD = 'correct horse battery staple';

describe('the login page says why the browser was signed out', () => {
  let h: Harness;

  /** Signs in through the form, as a browser does; returns the cookies it set. */
  async function signIn(user: TestUser): Promise<string> {
    const res = await h.app.request('http://localhost/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://localhost' },
      body: new URLSearchParams({ username: user.username, password: PASSWORD }).toString(),
    });
    expect(res.status).toBe(303);
    return res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
  }
  const open = (cookie: string, headers: Record<string, string> = { Accept: 'text/html' }) =>
    h.app.request('http://localhost/', { headers: { Cookie: cookie, ...headers } });
  const loginText = async (location: string) => await (await h.app.request(`http://localhost${location}`)).text();

  beforeAll(async () => {
    h = await harness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('expired: a session idle past the timeout', async () => {
    const u = await h.user('viewer');
    const cookie = await signIn(u);
    expect((await open(cookie)).status).toBe(200);
    await h.database.pool.query(`UPDATE sessions SET last_active_at = now() - interval '13 hours' WHERE user_id = $1`, [
      u.id,
    ]);
    await h.auth.settle(); // a change behind the web tier's back: wait until its cache has heard the NOTIFY
    const res = await open(cookie);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/login?reason=expired');
    // The dead cookie is dropped, so the next page is an ordinary sign-in.
    expect(res.headers.getSetCookie().some((c) => /^deckhand_session=;.*Max-Age=0/.test(c))).toBe(true);
    expect(await loginText('/login?reason=expired')).toContain('Your session expired.');
  });

  it('expired: a session past its absolute age, even if active', async () => {
    const u = await h.user('viewer');
    const cookie = await signIn(u);
    await h.database.pool.query(`UPDATE sessions SET created_at = now() - interval '8 days' WHERE user_id = $1`, [
      u.id,
    ]);
    await h.auth.settle();
    expect((await open(cookie)).headers.get('location')).toBe('/login?reason=expired');
  });

  it('elsewhere: a password or role change ended it', async () => {
    const u = await h.user('operator');
    const cookie = await signIn(u);
    expect(await invalidateUserSessions(h.database.db, u.id)).toBeGreaterThan(0);
    await h.auth.settle();
    const res = await open(cookie);
    expect(res.headers.get('location')).toBe('/login?reason=elsewhere');
    expect(await loginText('/login?reason=elsewhere')).toContain('You were signed out elsewhere');
    // An htmx poll is sent to the same place.
    const poll = await open(cookie, { 'HX-Request': 'true' });
    expect(poll.status).toBe(401);
    expect(poll.headers.get('HX-Redirect')).toBe('/login?reason=elsewhere');
  });

  it("restarted: the restart's sign-out ended a session made before it; one made after it and ended otherwise is 'elsewhere'", async () => {
    const before = await h.user('viewer');
    const beforeCookie = await signIn(before);
    await new Promise((r) => setTimeout(r, 5));
    // What a restart with the sign-out setting on records and does (server/web-primary.ts).
    const startedAt = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    const gone = await h.database.pool.query('DELETE FROM sessions');
    await h.auth.settle();
    await writeRestartState(h.database.db, {
      state: 'done',
      by: 'admin',
      startedAt,
      finishedAt: new Date().toISOString(),
      signedOut: gone.rowCount ?? 0,
      pids: [],
      error: null,
    });
    const res = await open(beforeCookie);
    expect(res.headers.get('location')).toBe('/login?reason=restarted');
    expect(await loginText('/login?reason=restarted')).toContain('Deckhand was restarted, which signs everyone out.');

    const after = await h.user('viewer');
    const afterCookie = await signIn(after);
    await invalidateUserSessions(h.database.db, after.id);
    await h.auth.settle();
    expect((await open(afterCookie)).headers.get('location')).toBe('/login?reason=elsewhere');
  });

  it('no reason without a session cookie, and an unknown reason shows nothing', async () => {
    const res = await h.app.request('http://localhost/', { headers: { Accept: 'text/html' } });
    expect(res.headers.get('location')).toBe('/login');
    const page = await loginText('/login?reason=%3Cscript%3E');
    expect(page).not.toContain('id="signed-out"');
    expect(page).not.toContain('<script>');
  });
});
