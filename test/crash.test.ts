import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  type BackendName,
  eventually,
  type Harness,
  harness,
  processAlive,
  sleep,
  spawnWorker,
  type TestUser,
  waitForStatus,
} from './support/app.ts';

describe.each<BackendName>(['redis', 'postgres'])('a worker killed with SIGKILL mid-job (BullMQ on %s)', (backend) => {
  let h: Harness;
  let op: TestUser;
  beforeAll(async () => {
    h = await harness({ backend, env: { DECKHAND_LEASE_MS: '2000', DECKHAND_QUEUE_LOCK_MS: '2000' } });
    op = await h.user('operator');
  });
  afterAll(() => h.close());

  it('leaves the job lost, audited, its processes killed, and never reruns it', async () => {
    const worker = spawnWorker(h, { DECKHAND_LEASE_MS: '2000', DECKHAND_QUEUE_LOCK_MS: '2000' });
    const res = await api(h, op, 'POST', '/api/jobs', { kind: 'script', script: 'hang', params: {} });
    const id = res.json.id as string;
    const pids = await eventually(
      async () => {
        const out = await api(h, op, 'GET', `/api/jobs/${id}/output`);
        const m = /pid=(\d+) child=(\d+)/.exec(out.json.chunks.map((c: { text: string }) => c.text).join(''));
        return m ? [Number(m[1]), Number(m[2])] : null;
      },
      30_000,
      'the script to start in the worker process',
    );
    expect((await api(h, op, 'GET', `/api/jobs/${id}`)).json.status).toBe('active');

    worker.kill('SIGKILL');
    // A surviving worker runs the reaper, and would take the job if the queue handed it out again.
    await h.startWorker();
    const job = await waitForStatus(h, op, id, ['lost'], 15_000);
    expect(job).toMatchObject({ attempt: 1, error: expect.stringMatching(/not rerun automatically/) });
    await eventually(async () => !pids.some(processAlive), 5000, 'the orphaned script to be killed');

    // Past BullMQ's stalled-job check, the job is still lost and was never attempted again.
    await sleep(5000);
    expect((await api(h, op, 'GET', `/api/jobs/${id}`)).json).toMatchObject({ status: 'lost', attempt: 1 });
    expect(await h.producer.state(id)).not.toMatch(/active|wait/);
    const events = (await api(h, op, 'GET', `/api/jobs/${id}/events`)).json.items;
    expect(events.filter((e: { type: string }) => e.type === 'status').map((e: any) => e.data.status)).toEqual([
      'queued',
      'active',
      'lost',
    ]);
    const audit = await h.database.db.execute(
      sql`SELECT actor, action FROM audit_log WHERE subject = ${id} ORDER BY id`,
    );
    expect(audit.rows).toEqual([
      { actor: op.username, action: 'job.enqueue' },
      { actor: 'system', action: 'job.lost' },
    ]);

    // A human may retry it: a new, audited job that runs.
    const retry = await api(h, op, 'POST', `/api/jobs/${id}/retry`);
    expect(retry.status).toBe(202);
    await api(h, op, 'POST', `/api/jobs/${retry.json.id}/cancel`);
  });
});
