import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEvent, claimJob, finishAttempt, insertQueuedJob, requestCancel } from '../db/jobs.ts';
import { type Harness, harness, type TestUser } from './support/app.ts';

/**
 * Issue 11 §2: a browser polling a running job's page gets a cheap 304 while nothing changed, and
 * the new content at once when anything did: never a stale 304.
 */
describe('polled job fragments revalidate with ETags', () => {
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

  it('an unchanged live fragment answers 304 to its ETag, with no body', async () => {
    const first = await poll(admin, live());
    expect(first.status).toBe(200);
    expect(first.html).toContain(`hx-get="/fragments/jobs/${id}/live?after=${after}"`);
    expect(first.etag).toMatch(/^"[0-9a-f]+"$/);
    expect(first.cache).toBe('private, no-cache'); // the browser keeps it and asks again each poll
    const again = await poll(admin, live(), first.etag);
    expect(again.status).toBe(304);
    expect(again.html).toBe('');
    expect(again.etag).toBe(first.etag);
  });

  it('a new event since the client’s cursor is a 200 with the new output, not a 304', async () => {
    const before = await poll(admin, live());
    await appendEvent(h.database.db, id, 'output', { stream: 'stdout', text: 'fresh line from the job\n' });
    const after1 = await poll(admin, live(), before.etag);
    expect(after1.status).toBe(200);
    expect(after1.html).toContain('fresh line from the job');
    expect(after1.etag).not.toBe(before.etag);
    after += 1;
    // The fragment's own next poll (a new cursor) is unchanged again: 304 once more.
    const next = await poll(admin, live());
    expect((await poll(admin, live(), next.etag)).status).toBe(304);
  });

  it('a cancel request (the status line changes) is a 200 with it', async () => {
    const before = await poll(admin, live());
    expect(before.html).not.toContain('cancelling');
    await requestCancel(h.database.db, id, admin.username);
    const changed = await poll(admin, live(), before.etag);
    expect(changed.status).toBe(200);
    expect(changed.html).toContain('cancelling');
    const [row] = (await h.database.db.execute(sql`SELECT last_seq FROM jobs WHERE id = ${id}`)).rows;
    after = Number(row!.last_seq);
  });

  it('another user’s ETag never matches: what a viewer sees differs (no buttons), so it is a 200', async () => {
    const mine = await poll(admin, live());
    const theirs = await poll(viewer, live(), mine.etag);
    expect(theirs.status).toBe(200);
    expect(theirs.html).not.toContain('Cancel');
  });

  it('the terminal transition is a 200 that stops the polling, for the live fragment and the dashboard row', async () => {
    const live1 = await poll(admin, live());
    const row1 = await poll(admin, `/fragments/jobs/${id}/row`);
    expect(row1.status).toBe(200);
    expect((await poll(admin, `/fragments/jobs/${id}/row`, row1.etag)).status).toBe(304);
    expect(await finishAttempt(h.database.db, id, 'worker-test', 'cancelled', { error: 'cancelled by admin' })).toBe(
      true,
    );
    const ended = await poll(admin, live(), live1.etag);
    expect(ended.status).toBe(200);
    expect(ended.html).toContain('data-status="cancelled"');
    expect(ended.html).not.toContain('hx-get');
    const row2 = await poll(admin, `/fragments/jobs/${id}/row`, row1.etag);
    expect(row2.status).toBe(200);
    expect(row2.html).toContain('cancelled');
  });
});
