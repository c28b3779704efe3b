import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  eventually,
  type Harness,
  harness,
  processAlive,
  spawnWorker,
  type TestUser,
  waitForStatus,
} from './support/app.ts';

describe('worker shutdown (SIGTERM path, in-process service)', () => {
  let h: Harness;
  let op: TestUser;
  beforeAll(async () => {
    h = await harness();
    op = await h.user('operator');
  });
  afterAll(() => h.close());

  const run = async (script: string, params = {}) =>
    (await api(h, op, 'POST', '/api/jobs', { kind: 'script', script, params })).json.id as string;

  it('lets a running job finish within the grace period, then stops taking jobs', async () => {
    const worker = await h.startWorker();
    const id = await run('steps', { count: 10 }); // about 1 s
    await waitForStatus(h, op, id, ['active']);
    await worker.close(10_000);
    expect((await api(h, op, 'GET', `/api/jobs/${id}`)).json).toMatchObject({ status: 'succeeded', progress: 100 });
    const next = await run('steps', { count: 1 });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await api(h, op, 'GET', `/api/jobs/${next}`)).json.status).toBe('queued'); // nobody took it
    await api(h, op, 'POST', `/api/jobs/${next}/cancel`);
  });

  it('a worker process given SIGTERM finishes its running job, then exits 0', async () => {
    const worker = spawnWorker(h, { DECKHAND_SHUTDOWN_GRACE_MS: '20000' });
    const id = await run('steps', { count: 20 }); // about 2 s
    await waitForStatus(h, op, id, ['active'], 30_000);
    const exited = new Promise<number | null>((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect((await api(h, op, 'GET', `/api/jobs/${id}`)).json).toMatchObject({ status: 'succeeded', progress: 100 });
  });

  it('after the grace period, stops the job’s processes and says why', async () => {
    const worker = await h.startWorker();
    const id = await run('hang');
    const text = await eventually(async () => {
      const out = await api(h, op, 'GET', `/api/jobs/${id}/output`);
      return out.json.chunks
        .map((c: { text: string }) => c.text)
        .join('')
        .match(/pid=(\d+) child=(\d+)/);
    });
    await worker.close(500);
    const job = (await api(h, op, 'GET', `/api/jobs/${id}`)).json;
    expect(job).toMatchObject({ status: 'failed', error: 'the worker shut down before the job finished' });
    expect(processAlive(Number(text[1]))).toBe(false);
    await eventually(async () => !processAlive(Number(text[2])), 3000, 'child exit');
  });
});
