import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../config.ts';
import { insertQueuedJob } from '../db/jobs.ts';
import { reconcileOnce } from '../jobs/lib/reconciler.ts';
import {
  api,
  type BackendName,
  eventually,
  type Harness,
  harness,
  processAlive,
  type TestUser,
  waitForStatus,
} from './support/app.ts';

const outputOf = async (h: Harness, user: TestUser, id: string) =>
  (await api(h, user, 'GET', `/api/jobs/${id}/output`)).json as {
    chunks: { seq: number; stream: string; text: string }[];
    done: boolean;
  };

describe.each<BackendName>(['redis', 'postgres'])('job pipeline on real PostgreSQL with BullMQ on %s', (backend) => {
  let h: Harness;
  let op: TestUser;
  beforeAll(async () => {
    h = await harness({ backend, env: { DECKHAND_OUTPUT_CAP_BYTES: '65536' } });
    op = await h.user('operator');
    await h.startWorker();
  });
  afterAll(() => h.close());

  const run = async (script: string, params: Record<string, unknown> = {}) => {
    const res = await api(h, op, 'POST', '/api/jobs', { kind: 'script', script, params });
    expect(res.status).toBe(202);
    return res.json.id as string;
  };

  it('runs an enqueued script to success, with its whole history appended in order', async () => {
    const id = await run('steps', { count: 4 });
    const job = await waitForStatus(h, op, id, ['succeeded']);
    expect(job).toMatchObject({ status: 'succeeded', progress: 100, step: 'step 4 of 4', attempt: 1, error: null });
    expect(job.startedAt).not.toBeNull();
    expect(job.finishedAt).not.toBeNull();

    const events = (await api(h, op, 'GET', `/api/jobs/${id}/events`)).json.items as {
      seq: number;
      type: string;
      data: any;
    }[];
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const statuses = events.filter((e) => e.type === 'status').map((e) => e.data.status);
    expect(statuses).toEqual(['queued', 'active', 'succeeded']);
    expect(events.filter((e) => e.type === 'progress').map((e) => e.data.progress)).toEqual([25, 50, 75, 100]);
    expect(events.at(-1)!.type).toBe('status');
    // Progress lines are progress, not output.
    const out = await outputOf(h, op, id);
    const text = out.chunks.map((c) => c.text).join('');
    expect(text).toContain('line 4');
    expect(text).not.toContain('::progress');
    expect(out.chunks.find((c) => c.stream === 'stderr')?.text).toBe('to stderr\n');
    expect(out.done).toBe(true);
    const later = await api(h, op, 'GET', `/api/jobs/${id}/output?after=${out.chunks.at(-1)!.seq}`);
    expect(later.json).toEqual({ chunks: [], done: true });
  });

  it('ends a failing script as failed with the exit code, after its one attempt', async () => {
    const id = await run('fail');
    const job = await waitForStatus(h, op, id, ['failed']);
    expect(job).toMatchObject({ attempt: 1, maxAttempts: 1, error: 'fail exited with code 3' });
    const text = (await outputOf(h, op, id)).chunks.map((c) => c.text).join('');
    expect(text).toContain('something broke');
  });

  it('fails a script that runs past its manifest timeout', async () => {
    const id = await run('slow');
    const job = await waitForStatus(h, op, id, ['failed']);
    expect(job.error).toMatch(/timed out after 1 s/);
  });

  it('caps output and marks the truncation once', async () => {
    const id = await run('noisy', { kib: 300 });
    const job = await waitForStatus(h, op, id, ['succeeded'], 30_000);
    expect(job.progress).toBe(100); // progress lines after the cap still count
    const out = await outputOf(h, op, id);
    const text = out.chunks.map((c) => c.text).join('');
    expect(Buffer.byteLength(text)).toBeLessThan(65_536 + 200);
    expect(text.match(/output truncated/g)).toHaveLength(1);
  });

  it('cancels a running script: the job is cancelled only once its process group has exited', async () => {
    const id = await run('hang', { ignoreTerm: true });
    const pids = await eventually(
      async () => {
        const text = (await outputOf(h, op, id)).chunks.map((c) => c.text).join('');
        const m = /pid=(\d+) child=(\d+)/.exec(text);
        return m ? [Number(m[1]), Number(m[2])] : null;
      },
      15_000,
      'script pids',
    );
    expect(pids.every(processAlive)).toBe(true);
    const cancel = await api(h, op, 'POST', `/api/jobs/${id}/cancel`);
    expect(cancel.json.status).toBe('cancelling');
    // The script ignores SIGTERM, so it lives through the grace period and then gets SIGKILL.
    expect((await api(h, op, 'GET', `/api/jobs/${id}`)).json.status).toBe('active');
    const job = await waitForStatus(h, op, id, ['cancelled']);
    expect(pids.some(processAlive)).toBe(false);
    expect(job.error).toBe('cancelled by a user');
    const types = (await api(h, op, 'GET', `/api/jobs/${id}/events`)).json.items.map(
      (e: any) => e.data.status ?? e.type,
    );
    expect(types).toContain('cancel_requested');
    expect(types.at(-1)).toBe('cancelled');
  });

  it('re-enqueues a committed job that never reached the queue (reconciler)', async () => {
    const id = await insertQueuedJob(h.database.db, {
      kind: 'script',
      target: null,
      script: 'steps',
      params: { count: 1, label: 'x' },
      maxAttempts: 1,
      requestedBy: op.id,
      actorName: op.username,
      idempotencyKey: null,
      retryOf: null,
      auditDetails: {},
    });
    expect(await h.producer.exists(id!)).toBe(false);
    await h.database.db.execute(sql`UPDATE jobs SET created_at = now() - interval '1 minute' WHERE id = ${id}`);
    const log = createLogger('silent', 'test');
    expect(await reconcileOnce(h.database.db, h.producer, h.registry, log, 10_000)).toBe(1);
    await waitForStatus(h, op, id!, ['succeeded']);
    const types = (await api(h, op, 'GET', `/api/jobs/${id}/events`)).json.items.map((e: any) => e.type);
    expect(types).toContain('requeued');
    expect(await reconcileOnce(h.database.db, h.producer, h.registry, log, 10_000)).toBe(0);
  });
});
