import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, eventually, type Harness, harness, type TestUser, waitForStatus } from './support/app.ts';
import { freePort, PrivateRedis } from './support/redis.ts';

describe('a Redis outage (private redis-server, killed and restarted)', () => {
  let redis: PrivateRedis;
  let h: Harness;
  let op: TestUser;
  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    h = await harness({ backend: 'redis', env: { REDIS_URL: redis.url } });
    op = await h.user('operator');
    await h.startWorker();
  });
  afterAll(async () => {
    try {
      await redis?.start(); // let the harness close its connections cleanly
      await h?.close();
    } finally {
      await redis?.kill();
    }
  });

  const job = { kind: 'script', script: 'steps', params: { count: 1 } };

  it('answers 503 with a reason on /readyz and POST /api/jobs, and writes no job; recovers when Redis is back', async () => {
    expect((await h.app.request('/readyz')).status).toBe(200);
    await redis.kill();

    const ready = await eventually(
      async () => {
        const res = await h.app.request('/readyz');
        return res.status === 503 ? res.json() : null;
      },
      10_000,
      '/readyz to report the outage',
    );
    expect((ready as any).error.message).toMatch(/^queue: /);
    expect((ready as any).error.details.database).toBe('ok');

    const before = await h.database.db.execute(sql`SELECT count(*)::int AS n FROM jobs`);
    const refused = await api(h, op, 'POST', '/api/jobs', job);
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe('queue_unavailable');
    const after = await h.database.db.execute(sql`SELECT count(*)::int AS n FROM jobs WHERE status <> 'failed'`);
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);

    await redis.start();
    await eventually(async () => (await h.app.request('/readyz')).status === 200, 15_000, 'readiness after restart');
    const accepted = await api(h, op, 'POST', '/api/jobs', job);
    expect(accepted.status).toBe(202);
    // The worker reconnected by itself and runs the job.
    await waitForStatus(h, op, accepted.json.id, ['succeeded'], 30_000);
  });
});
