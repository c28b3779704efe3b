import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEvent, claimJob, finishAttempt, insertQueuedJob, requestCancel } from '../db/jobs.ts';
import { type Harness, harness, type TestUser } from './support/app.ts';

/**
 * Issue 11 §2: a browser polling a running job's page gets a cheap 204 (the live fragment, by its
 * digest) or 304 (the dashboard row, by its ETag) while nothing changed, and the new content at once
 * when anything did: never a stale answer.
 */
describe('polled job fragments answer an unchanged poll cheaply (204 or 304), never a stale one', () => {
  let h: Harness;
  let admin: TestUser;
  let viewer: TestUser;
  let id: string;
  let after: number;

  const poll = async (user: TestUser, url: string, etag?: string) => {
    const headers: Record<string, string> = { Cookie: user.cookie, 'HX-Request': 'true' };
    if (etag) headers['If-None-Match'] = etag;
    const res = await h.app.request(url, { headers });
    return {
      status: res.status,
      etag: res.headers.get('ETag') ?? undefined,
      cache: res.headers.get('Cache-Control'),
      html: await res.text(),
    };
  };
  const live = () => `/fragments/jobs/${id}/live?after=${after}`;

  beforeAll(async () => {
    h = await harness();
    [admin, viewer] = [await h.user('admin'), await h.user('viewer')];
    id = (await insertQueuedJob(h.database.db, {
      kind: 'script',
      target: null,
      script: 'steps',
      params: {},
      maxAttempts: 1,
      requestedBy: admin.id,
      actorName: admin.username,
      idempotencyKey: null,
      onBusy: 'wait',
      retryOf: null,
      auditDetails: { kind: 'script' },
    }))!;
    await claimJob(h.database.db, id, 'worker-test', 60_000);
    // Started days ago: its "started … ago" reads the same for the whole test, however slow the machine.
    await h.database.db.execute(sql`UPDATE jobs SET started_at = now() - interval '3 days' WHERE id = ${id}`);
    const [row] = (await h.database.db.execute(sql`SELECT last_seq FROM jobs WHERE id = ${id}`)).rows;
    after = Number(row!.last_seq);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** The poll URL the fragment itself carries: its cursor and the digest of what it shows. */
  const nextPoll = (html: string) => /hx-get="([^"]+)"/.exec(html)![1]!.replaceAll('&amp;', '&');

  it('the live fragment is never cached: no ETag, revalidated each poll, its next poll URL carries its digest', async () => {
    const first = await poll(admin, live());
    expect(first.status).toBe(200);
    expect(first.html).toContain(`hx-get="/fragments/jobs/${id}/live?after=${after}&amp;v=`);
    expect(first.etag).toBeUndefined();
    expect(first.cache).toBe('private, no-cache');
  });

  it('a new event since the client’s cursor is a 200 with the new output, and the poll after it a 204', async () => {
    const next = nextPoll((await poll(admin, live())).html);
    await appendEvent(h.database.db, id, 'output', { stream: 'stdout', text: 'fresh line from the job\n' });
    const changed = await poll(admin, next);
    expect(changed.status).toBe(200);
    expect(changed.html).toContain('fresh line from the job');
    after += 1;
    expect(nextPoll(changed.html)).toContain(`after=${after}&`);
    expect((await poll(admin, nextPoll(changed.html))).status).toBe(204);
  });

  it('the fragment’s own next poll, with nothing changed, is a 204 with no body (htmx swaps nothing)', async () => {
    const shown = await poll(admin, live());
    const next = nextPoll(shown.html);
    expect(next).toMatch(new RegExp(`^/fragments/jobs/${id}/live\\?after=${after}&v=[\\w-]{22}$`));
    const res = await poll(admin, next); // a new URL: the browser has no ETag for it yet
    expect(res.status).toBe(204);
    expect(res.html).toBe('');
    expect(res.cache).toBe('private, no-cache');
  });

  it('a change no event records (a step, a progress) is a 200 with it, not a 204', async () => {
    const next = nextPoll((await poll(admin, live())).html);
    // A lease renewal shows nothing: still a 204, so a heartbeat costs the pollers no render.
    await h.database.db.execute(sql`UPDATE jobs SET lease_expires_at = now() + interval '5 min' WHERE id = ${id}`);
    expect((await poll(admin, next)).status).toBe(204);
    // Parameters are not in the digest (they may hold a secret, and the digest is in the page).
    const withSecret = sql`UPDATE jobs SET params = '{"password":"hunter2"}' WHERE id = ${id}`;
    await h.database.db.execute(withSecret);
    expect((await poll(admin, next)).status).toBe(204);
    await h.database.db.execute(sql`UPDATE jobs SET step = 'copying the release', progress = 42 WHERE id = ${id}`);
    const res = await poll(admin, next);
    expect(res.status).toBe(200);
    expect(res.html).toContain('copying the release');
    expect(res.html).toContain('42%');
    expect((await poll(admin, nextPoll(res.html))).status).toBe(204);
  });

  it('a relative time that reads differently now ("started 3 d ago" → "4 d ago") is a 200', async () => {
    const shown = await poll(admin, live());
    expect(shown.html).toContain('3 d ago');
    await h.database.db.execute(sql`UPDATE jobs SET started_at = now() - interval '4 days' WHERE id = ${id}`);
    const res = await poll(admin, nextPoll(shown.html));
    expect(res.status).toBe(200);
    expect(res.html).toContain('4 d ago');
    await h.database.db.execute(sql`UPDATE jobs SET started_at = now() - interval '3 days' WHERE id = ${id}`);
  });

  it('another user’s digest never matches (a viewer has no buttons): a 200, not a 204', async () => {
    const mine = nextPoll((await poll(admin, live())).html);
    const theirs = await poll(viewer, mine);
    expect(theirs.status).toBe(200);
    expect(theirs.html).not.toContain('Cancel');
  });

  it('a malformed digest or an unknown query field is a 400 naming it', async () => {
    const bad = await poll(admin, `${live()}&v=not-a-digest`);
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('v:'); // htmx asked: the error is an HTML fragment naming the field
    const unknown = await poll(admin, `${live()}&since=3`);
    expect(unknown.status).toBe(400);
    expect(unknown.html).toContain('since');
  });

  it('a cancel request (the status line changes) is a 200 with it', async () => {
    const before = await poll(admin, live());
    expect(before.html).not.toContain('cancelling');
    await requestCancel(h.database.db, id, admin.username);
    const changed = await poll(admin, nextPoll(before.html)); // what the browser polls next
    expect(changed.status).toBe(200);
    expect(changed.html).toContain('cancelling');
    const [row] = (await h.database.db.execute(sql`SELECT last_seq FROM jobs WHERE id = ${id}`)).rows;
    after = Number(row!.last_seq);
  });

  it('the terminal transition is a 200 that stops the polling, for the live fragment and the dashboard row', async () => {
    const live1 = await poll(admin, live());
    const row1 = await poll(admin, `/fragments/jobs/${id}/row`);
    expect(row1.status).toBe(200);
    expect((await poll(admin, `/fragments/jobs/${id}/row`, row1.etag)).status).toBe(304);
    expect(await finishAttempt(h.database.db, id, 'worker-test', 'cancelled', { error: 'cancelled by admin' })).toBe(
      true,
    );
    const ended = await poll(admin, nextPoll(live1.html));
    expect(ended.status).toBe(200);
    expect(ended.html).toContain('data-status="cancelled"');
    expect(ended.html).not.toContain('hx-get');
    const row2 = await poll(admin, `/fragments/jobs/${id}/row`, row1.etag);
    expect(row2.status).toBe(200);
    expect(row2.html).toContain('cancelled');
  });
});
