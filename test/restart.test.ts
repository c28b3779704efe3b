import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childPids } from '../worker/adapters/signal.ts';
import { api, type Harness, harness, sleep, type TestUser, waitForStatus } from './support/app.ts';
import { httpsGet } from './support/process.ts';
import {
  type Gunicorn,
  makeCert,
  type Supervisord,
  scratchDir,
  startGunicorn,
  startSupervisord,
} from './support/services.ts';

/** One HTTPS GET to gunicorn; the body names the worker that answered. */
async function get(port: number, path = '/'): Promise<string> {
  const res = await httpsGet(port, path);
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  return res.body;
}

describe('restart jobs against real services', () => {
  let h: Harness;
  let admin: TestUser;
  let op: TestUser;
  let gunicorn: Gunicorn;
  let supervisord: Supervisord;
  let dir: string;

  beforeAll(async () => {
    h = await harness();
    [admin, op] = await Promise.all([h.user('admin'), h.user('operator')]);
    await h.startWorker();
    dir = scratchDir('restart');
    gunicorn = await startGunicorn(dir, await makeCert(dir, 'web', ['localhost', '127.0.0.1']));
    supervisord = await startSupervisord(dir);
    const put = (name: string, spec: object) => api(h, admin, 'PUT', `/api/targets/${name}`, spec);
    expect(
      (
        await put('web', {
          manager: 'signal',
          pidfile: gunicorn.pidfile,
          match: gunicorn.match,
          healthUrl: `https://127.0.0.1:${gunicorn.port}/health`,
          healthVerifyTls: false,
        })
      ).status,
    ).toBe(201);
    expect((await put('files', { manager: 'supervisor', program: 'web', configPath: supervisord.config })).status).toBe(
      201,
    );
    expect(
      (await put('ghost', { manager: 'signal', pidfile: `${dir}/nothing.pid`, match: gunicorn.match })).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await gunicorn?.stop();
    await supervisord?.stop();
    await h.close();
  });

  it('restarts gunicorn with SIGHUP: new workers, and a client keeps getting answers throughout', async () => {
    const master = Number((await import('node:fs')).readFileSync(gunicorn.pidfile, 'utf8'));
    const before = await childPids(master);
    expect(before).toHaveLength(2);
    let answered = 0;
    const failures: string[] = [];
    let stop = false;
    const client = (async () => {
      while (!stop) {
        await get(gunicorn.port).then(
          () => answered++,
          (e: Error) => failures.push(e.message),
        );
      }
    })();
    const res = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'web', mode: 'restart' });
    expect(res.status).toBe(202);
    const job = await waitForStatus(h, op, res.json.id, ['succeeded', 'failed'], 45_000);
    await sleep(300);
    stop = true;
    await client;
    expect(job).toMatchObject({ status: 'succeeded', progress: 100, step: 'web restarted' });
    expect(job.result.pidAfter).toBe(master); // same master,
    const after = await childPids(master);
    expect(after.some((p) => before.includes(p))).toBe(false); // all-new workers
    expect(job.result.workersAfter).toEqual(after);
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(10);
  });

  it('fails clearly when the target is not running', async () => {
    const res = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'ghost' });
    const job = await waitForStatus(h, op, res.json.id, ['failed']);
    expect(job.error).toBe(
      `ghost is not running (no master process at pidfile ${dir}/nothing.pid), and Deckhand cannot start a signal target: start it with its own manager`,
    );
  });

  it('restarts a supervisor program for real: a new pid, running again', async () => {
    const res = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'files' });
    const job = await waitForStatus(h, op, res.json.id, ['succeeded', 'failed'], 45_000);
    expect(job.status).toBe('succeeded');
    expect(job.result.pidAfter).not.toBe(job.result.pidBefore);
    expect(job.result.pidAfter).toBeGreaterThan(0);
  });

  it('never runs two jobs on one target at once: the second waits, naming the holder', async () => {
    const a = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'web' });
    const b = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'web', mode: 'reload' });
    const waiting = await waitForStatus(h, op, b.json.id, ['waiting'], 15_000);
    expect(waiting.step).toBe(`waiting for web: held by job ${a.json.id} (restart)`);
    const [ja, jb] = [
      await waitForStatus(h, op, a.json.id, ['succeeded'], 45_000),
      await waitForStatus(h, op, b.json.id, ['succeeded'], 45_000),
    ];
    expect(Date.parse(jb.startedAt)).toBeGreaterThanOrEqual(Date.parse(ja.finishedAt));
    const statuses = (await api(h, op, 'GET', `/api/jobs/${b.json.id}/events`)).json.items
      .filter((e: any) => e.type === 'status')
      .map((e: any) => e.data.status);
    expect(statuses).toEqual(['queued', 'active', 'waiting', 'active', 'succeeded']);
  });

  it('refuses with 409 a job on a busy target when the request says onBusy reject', async () => {
    const a = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'web' });
    const b = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'web', onBusy: 'reject' });
    expect(b.status).toBe(409);
    expect(b.json.error.details.jobId).toBe(a.json.id);
    await waitForStatus(h, op, a.json.id, ['succeeded'], 45_000);
    expect((await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: 'files', onBusy: 'reject' })).status).toBe(
      202,
    );
  });

  it('lets an admin force-release a stuck lock, audited; others may not', async () => {
    const stuck = await api(h, op, 'POST', '/api/jobs', { kind: 'script', script: 'steps', params: { count: 1 } });
    await waitForStatus(h, op, stuck.json.id, ['succeeded']);
    await h.database.db.execute(sql`INSERT INTO target_locks (target, job_id) VALUES ('ghost', ${stuck.json.id})`);
    expect((await api(h, op, 'DELETE', '/api/targets/ghost/lock')).status).toBe(403);
    const released = await api(h, admin, 'DELETE', '/api/targets/ghost/lock');
    expect(released.json).toEqual({ target: 'ghost', released: stuck.json.id });
    const audit = await h.database.db.execute(
      sql`SELECT actor, details FROM audit_log WHERE action = 'target.lock.force_release'`,
    );
    expect(audit.rows).toEqual([{ actor: admin.username, details: { heldBy: stuck.json.id } }]);
    expect((await api(h, admin, 'DELETE', '/api/targets/ghost/lock')).status).toBe(404);
  });
});
