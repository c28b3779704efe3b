import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, eventually, type Harness, harness, type TestUser, waitForStatus } from './support/app.ts';
import { freePort, PrivateRedis } from './support/redis.ts';

/** Idempotency-Key on POST /api/jobs: one key, one request, one job that really runs. */

let redis: PrivateRedis;
let h: Harness;
let op: TestUser;
let admin: TestUser;
/** Set while the test has the server killed, so afterAll knows to start it again. */
let redisDown = false;

beforeAll(async () => {
  redis = new PrivateRedis(await freePort());
  await redis.start();
  h = await harness({ backend: 'redis', env: { REDIS_URL: redis.url } });
  [op, admin] = await Promise.all([h.user('operator'), h.user('admin')]);
  for (const name of ['web', 'api']) {
    const put = await api(h, admin, 'PUT', `/api/targets/${name}`, { manager: 'systemd', unit: `${name}.service` });
    expect(put.status).toBe(201);
  }
  await h.startWorker();
});
afterAll(async () => {
  try {
    // Let the harness close its connections cleanly: a paused or stopped server would hang its close.
    redis?.resume();
    if (redisDown) await redis.start();
    await h?.close();
  } finally {
    await redis?.kill();
  }
});

const stepsJob = { kind: 'script', script: 'steps', params: { count: 1 } };
const post = (body: unknown, key: string, user = op) =>
  api(h, user, 'POST', '/api/jobs', body, { 'Idempotency-Key': key });
const jobsWithKey = async (key: string) =>
  Number(
    (await h.database.db.execute(sql`SELECT count(*)::int AS n FROM jobs WHERE idempotency_key = ${key}`)).rows[0]!.n,
  );

describe('a reused Idempotency-Key', () => {
  it('returns the same job for the same request, however it is spelled', async () => {
    const first = await post(stepsJob, 'same-1');
    expect(first.status).toBe(202);
    // Key order and an explicit default do not make it another request.
    const again = await post({ params: { label: 'step', count: 1 }, script: 'steps', kind: 'script' }, 'same-1');
    expect(again.status).toBe(202);
    expect(again.json.id).toBe(first.json.id);
    expect(await jobsWithKey('same-1')).toBe(1);
  });

  const different: [string, unknown, unknown][] = [
    ['params', stepsJob, { ...stepsJob, params: { count: 2 } }],
    ['script', stepsJob, { kind: 'script', script: 'fail', params: {} }],
    ['onBusy', stepsJob, { ...stepsJob, onBusy: 'reject' }],
    ['kind', stepsJob, { kind: 'restart', target: 'web', mode: 'reload' }],
    ['target', { kind: 'restart', target: 'web', mode: 'reload' }, { kind: 'restart', target: 'api', mode: 'reload' }],
    ['mode', { kind: 'restart', target: 'api', mode: 'reload' }, { kind: 'restart', target: 'api', mode: 'restart' }],
  ];
  for (const [what, body, other] of different) {
    it(`with a different ${what} answers 422 idempotency_key_reused and makes no job`, async () => {
      const key = `reused-${what}`;
      const first = await post(body, key);
      expect(first.status).toBe(202);
      const total = Number((await h.database.db.execute(sql`SELECT count(*)::int AS n FROM jobs`)).rows[0]!.n);
      const reused = await post(other, key);
      expect(reused.status).toBe(422);
      expect(reused.json.error).toMatchObject({ code: 'idempotency_key_reused', details: { job: first.json.id } });
      const after = Number((await h.database.db.execute(sql`SELECT count(*)::int AS n FROM jobs`)).rows[0]!.n);
      expect(after).toBe(total);
      // The original request still gets its job.
      expect((await post(body, key)).json.id).toBe(first.json.id);
    });
  }

  it('is per user: another user may use the same key for another request', async () => {
    const mine = await post(stepsJob, 'per-user');
    const theirs = await post({ ...stepsJob, params: { count: 3 } }, 'per-user', admin);
    expect(theirs.status).toBe(202);
    expect(theirs.json.id).not.toBe(mine.json.id);
  });

  it('makes one job from 100 concurrent POSTs with one key', async () => {
    const answers = await Promise.all(Array.from({ length: 100 }, () => post(stepsJob, 'burst')));
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(202));
    expect(new Set(answers.map((a) => a.json.id)).size).toBe(1);
    expect(await jobsWithKey('burst')).toBe(1);
  });
});

describe('an Idempotency-Key after a 503', () => {
  it('still runs the job on the client’s retry when the queue hung after the commit', async () => {
    await waitForStatus(h, op, (await post(stepsJob, 'warm-up')).json.id, ['succeeded'], 30_000);
    redis.pause(); // the connection stays "ready", so the row is committed and the add times out
    const refused = await post(stepsJob, 'after-503');
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe('queue_unavailable');
    // The committed row says what happened: it failed without running.
    const rows = await h.database.db.execute(
      sql`SELECT status, attempt, error FROM jobs WHERE requested_by = ${op.id} ORDER BY num DESC LIMIT 1`,
    );
    expect(rows.rows[0]).toMatchObject({ status: 'failed', attempt: 0 });
    expect(String(rows.rows[0]!.error)).toMatch(/queue was unreachable/);

    redisDown = true;
    await redis.kill();
    await redis.start();
    redisDown = false;
    // The client retries, as clients do after a 503, until the queue is back.
    const retried = await eventually(
      async () => {
        const r = await post(stepsJob, 'after-503');
        return r.status === 503 ? null : r;
      },
      15_000,
      'the queue to take jobs again',
    );
    expect(retried.status).toBe(202);
    const done = await waitForStatus(h, op, retried.json.id, ['succeeded', 'failed'], 30_000);
    expect(done.status).toBe('succeeded');
    // One job holds the key, and the retry with it again answers that job.
    expect(await jobsWithKey('after-503')).toBe(1);
    expect((await post(stepsJob, 'after-503')).json.id).toBe(retried.json.id);
  });
});
