import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { endIdleJob } from '../db/jobs.ts';
import { kindEnv } from '../jobs/lib/kind.ts';
import { createConsumer } from '../jobs/lib/queue.ts';
import { reconcileOnce } from '../jobs/lib/reconciler.ts';
import { createRunner } from '../worker/runner.ts';
import {
  api,
  type BackendName,
  eventually,
  type Harness,
  harness,
  type TestUser,
  waitForStatus,
} from './support/app.ts';
import { freePort } from './support/process.ts';

/**
 * A job that PostgreSQL records as waiting for a worker must reach one, whatever BullMQ did with
 * it; and BullMQ must not keep handing out a job whose row has ended.
 */
describe.each<BackendName>(['redis', 'postgres'])('stranded jobs (BullMQ on %s)', (backend) => {
  let h: Harness;
  let op: TestUser;
  const log = createLogger('silent', 'test');
  const job = { kind: 'script', script: 'steps', params: { count: 1 } };
  beforeAll(async () => {
    h = await harness({ backend });
    op = await h.user('operator');
  });
  afterAll(() => h.close());

  const accept = async () => {
    const res = await api(h, op, 'POST', '/api/jobs', job);
    expect(res.status).toBe(202);
    return res.json.id as string;
  };
  const age = (id: string) =>
    h.database.db.execute(sql`UPDATE jobs SET created_at = now() - interval '1 minute' WHERE id = ${id}`);

  it('removes from BullMQ a pending job whose row has ended', async () => {
    // No worker runs yet in this file, so the job stays pending in BullMQ.
    const id = await accept();
    // Ended in PostgreSQL only (as a cancel whose queue removal failed would leave it).
    expect(await endIdleJob(h.database.db, id, 'cancelled', op.username, 'cancelled before it started')).toBe(true);
    expect(await h.producer.state(id)).toMatch(/wait|prioritized/);

    expect(await reconcileOnce(h.database.db, h.producer, h.registry, log, 10_000)).toBeGreaterThanOrEqual(1);
    expect(await h.producer.state(id)).toBe('unknown');
  });

  let requeuedId = '';
  it('re-enqueues a queued job that BullMQ failed without a claim (a worker killed in between)', async () => {
    const id = await accept();
    // Taken from BullMQ, and failed there, without the row ever being claimed.
    const consumer = createConsumer(
      h.queue,
      async () => {
        throw new Error('killed before the claim');
      },
      { concurrency: 1, maxStalledCount: 0 },
    );
    try {
      await eventually(async () => (await h.producer.state(id)) === 'failed', 15_000, 'BullMQ to fail the job');
    } finally {
      await consumer.close();
    }
    expect((await api(h, op, 'GET', `/api/jobs/${id}`)).json.status).toBe('queued');
    await age(id);

    expect(await reconcileOnce(h.database.db, h.producer, h.registry, log, 10_000)).toBeGreaterThanOrEqual(1);
    expect(await h.producer.state(id)).toMatch(/wait|prioritized/);
    const events = (await api(h, op, 'GET', `/api/jobs/${id}/events`)).json.items;
    expect(events.find((e: { type: string }) => e.type === 'requeued')?.data).toEqual({
      reason: 'the queue had it failed',
    });
    requeuedId = id; // runs once a worker starts, below
  });

  it('a claim that cannot reach the database puts the job back in the queue without using its attempt', async () => {
    const id = await accept();
    // A worker whose database is unreachable: nothing listens on this port.
    const dead = connectDatabase(`postgres://postgres@127.0.0.1:${await freePort()}/none`, 2);
    const runner = createRunner({
      db: dead.db,
      registry: h.registry,
      env: kindEnv(h.config, dead.db),
      owner: 'test:1:dead',
      leaseMs: 3000,
      cancelGraceMs: 1000,
      outputCapBytes: 65_536,
      log,
    });
    const consumer = createConsumer(h.queue, runner.processor, { concurrency: 1, maxStalledCount: 0 });
    try {
      await eventually(async () => (await h.producer.state(id)) === 'delayed', 15_000, 'the job to go back, delayed');
    } finally {
      await consumer.close();
      await dead.close();
    }
    const queued = await h.producer.queue.getJob(id);
    expect(queued?.attemptsMade).toBe(0);
    expect((await api(h, op, 'GET', `/api/jobs/${id}`)).json).toMatchObject({ status: 'queued', attempt: 0 });

    await h.startWorker();
    await waitForStatus(h, op, id, ['succeeded'], 20_000);
    if (requeuedId) await waitForStatus(h, op, requeuedId, ['succeeded'], 20_000);
  });
});
