import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULE_TICK } from '../jobs/lib/queue.ts';
import { hasScheduler } from '../jobs/lib/schedules.ts';
import type { WorkerService } from '../worker/service.ts';
import { api, type BackendName, eventually, type Harness, harness, sleep, type TestUser } from './support/app.ts';

const EVERY_SECOND = '* * * * * *';
const stepsJob = { kind: 'script', script: 'steps', params: { count: 1 } };

describe.each<BackendName>(['redis', 'postgres'])('schedules on BullMQ job schedulers (%s)', (backend) => {
  let h: Harness;
  let worker: WorkerService;
  let viewer: TestUser;
  let operator: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    h = await harness({ backend });
    [viewer, operator, admin] = await Promise.all([h.user('viewer'), h.user('operator'), h.user('admin')]);
    worker = await h.startWorker();
  });
  afterAll(() => h.close());

  const count = async (q: string) => Number((await h.database.db.execute(sql.raw(q))).rows[0]!.n);
  const schedule = async (id: string) => (await api(h, admin, 'GET', `/api/schedules/${id}`)).json;
  const create = async (user: TestUser, body: unknown) => {
    const r = await api(h, user, 'POST', '/api/schedules', body);
    expect(r.status, r.text).toBe(201);
    return r.json as { id: string };
  };
  /** The first run of the schedule that satisfies `ok`, once it exists. */
  const runWhere = (id: string, ok: (run: any) => boolean, what: string) =>
    eventually(async () => (await schedule(id)).lastRuns.find(ok), 20_000, what);

  it('fires a real job each second, requested by the owner and audited, with next and last runs', async () => {
    const s = await create(operator, { cron: EVERY_SECOND, tz: 'UTC', job: stepsJob });
    expect(await hasScheduler(h.producer.queue, s.id)).toBe(true);
    const run = await runWhere(s.id, (r) => r.job?.status === 'succeeded', 'a succeeded run');
    expect(run.outcome).toBe('started');
    const job = (await api(h, operator, 'GET', `/api/jobs/${run.job.id}`)).json;
    expect(job).toMatchObject({ kind: 'script', script: 'steps', status: 'succeeded', requestedBy: operator.username });
    const audited = await h.database.db.execute(
      sql`SELECT actor, details FROM audit_log WHERE action = 'job.enqueue' AND subject = ${run.job.id}`,
    );
    expect(audited.rows).toEqual([{ actor: operator.username, details: expect.objectContaining({ schedule: s.id }) }]);
    const shown = await schedule(s.id);
    expect(shown).toMatchObject({ cron: EVERY_SECOND, tz: 'UTC', owner: operator.username, paused: false });
    expect(shown.nextRuns).toHaveLength(5);
    const next = shown.nextRuns.map((t: string) => Date.parse(t));
    expect(next.every((t: number, i: number) => i === 0 || t - next[i - 1]! === 1000)).toBe(true);
    const list = (await api(h, viewer, 'GET', '/api/schedules')).json.items;
    expect(list.map((x: { id: string }) => x.id)).toContain(s.id);
    expect((await api(h, operator, 'DELETE', `/api/schedules/${s.id}`)).status).toBe(204);
  });

  it('pause stops the runs and removes the BullMQ scheduler; resume starts them again', async () => {
    const s = await create(operator, { cron: EVERY_SECOND, tz: 'UTC', job: stepsJob });
    await runWhere(s.id, (r) => r.outcome === 'started', 'a first run');
    expect((await api(h, viewer, 'POST', `/api/schedules/${s.id}/pause`)).status).toBe(403);
    const paused = await api(h, operator, 'POST', `/api/schedules/${s.id}/pause`);
    expect(paused.status, paused.text).toBe(200);
    expect(paused.json).toMatchObject({ paused: true, nextRuns: [] });
    expect(await hasScheduler(h.producer.queue, s.id)).toBe(false);
    const runs = `SELECT count(*) AS n FROM schedule_runs WHERE schedule_id = '${s.id}'`;
    await sleep(1500); // a tick already in flight at the pause may still land
    const settled = await count(runs);
    await sleep(2500);
    expect(await count(runs)).toBe(settled);
    const resumed = await api(h, admin, 'POST', `/api/schedules/${s.id}/resume`);
    expect(resumed.status, resumed.text).toBe(200);
    expect(await hasScheduler(h.producer.queue, s.id)).toBe(true);
    await eventually(async () => (await count(runs)) > settled, 20_000, 'a run after resume');
    const audit = await h.database.db.execute(
      sql`SELECT actor, action FROM audit_log WHERE subject = ${s.id} ORDER BY id`,
    );
    expect(audit.rows).toEqual([
      { actor: operator.username, action: 'schedule.create' },
      { actor: operator.username, action: 'schedule.pause' },
      { actor: admin.username, action: 'schedule.resume' },
    ]);
    expect((await api(h, admin, 'DELETE', `/api/schedules/${s.id}`)).status).toBe(204);
  });

  it('delete removes the schedule and its BullMQ scheduler, audited; others may not', async () => {
    const s = await create(operator, { cron: '0 3 * * *', tz: 'Europe/Paris', job: stepsJob });
    const other = await h.user('operator');
    expect((await api(h, other, 'DELETE', `/api/schedules/${s.id}`)).status).toBe(403);
    expect((await api(h, viewer, 'DELETE', `/api/schedules/${s.id}`)).status).toBe(403);
    expect((await api(h, operator, 'DELETE', `/api/schedules/${s.id}`)).status).toBe(204);
    expect(await hasScheduler(h.producer.queue, s.id)).toBe(false);
    expect((await api(h, operator, 'GET', `/api/schedules/${s.id}`)).status).toBe(404);
    expect(
      await count(`SELECT count(*) AS n FROM audit_log WHERE action = 'schedule.delete' AND subject = '${s.id}'`),
    ).toBe(1);
  });

  it('skips, and says so, once the owner is demoted or disabled; no job is created for them', async () => {
    const owner = await h.user('operator');
    const s = await create(owner, { cron: EVERY_SECOND, tz: 'UTC', job: stepsJob });
    await runWhere(s.id, (r) => r.outcome === 'started', 'a first run');
    await h.database.db.execute(sql`UPDATE users SET role = 'viewer' WHERE id = ${owner.id}`);
    const demotedAt = new Date();
    const skipped = await runWhere(s.id, (r) => r.outcome === 'skipped', 'a skipped run');
    expect(skipped.reason).toBe(`${owner.username} is no longer an operator`);
    expect((await schedule(s.id)).blocked).toBe(`${owner.username} is no longer an operator`);
    await sleep(1500);
    const jobsSince = sql`SELECT count(*) AS n FROM jobs j JOIN schedule_runs r ON r.job_id = j.id
      WHERE r.schedule_id = ${s.id} AND r.at > ${demotedAt.toISOString()}::timestamptz + interval '1 second'`;
    expect(Number((await h.database.db.execute(jobsSince)).rows[0]!.n)).toBe(0);
    await h.database.db.execute(sql`UPDATE users SET role = 'operator', disabled = true WHERE id = ${owner.id}`);
    await runWhere(s.id, (r) => r.reason === `${owner.username} is disabled`, 'a run skipped as disabled');
    const audit = `SELECT count(*) AS n FROM audit_log WHERE action = 'schedule.skip' AND subject = '${s.id}'`;
    expect(await count(audit)).toBeGreaterThan(0);
    expect((await api(h, admin, 'DELETE', `/api/schedules/${s.id}`)).status).toBe(204);
  });

  it('refuses a bad cron, time zone or job with a 400 naming the field, and stores nothing', async () => {
    const before = await count('SELECT count(*) AS n FROM schedules');
    const schedulers = await h.producer.queue.getJobSchedulersCount();
    const cases: [unknown, string][] = [
      [{ cron: '61 * * * *', tz: 'UTC', job: stepsJob }, 'cron'],
      [{ cron: 'every day', tz: 'UTC', job: stepsJob }, 'cron'],
      [{ cron: '0 0 30 2 *', tz: 'UTC', job: stepsJob }, 'cron'],
      [{ cron: '0 3 * * *', tz: 'Mars/Olympus', job: stepsJob }, 'tz'],
      [{ cron: '0 3 * * *', tz: 'UTC', job: { kind: 'script', script: 'nope' } }, 'job'],
      [{ cron: '0 3 * * *', tz: 'UTC', job: { kind: 'script', script: 'steps', params: { count: 99 } } }, 'job'],
      [{ cron: '0 3 * * *', tz: 'UTC', job: { kind: 'teleport' } }, 'job'],
      [{ cron: '0 3 * * *', tz: 'UTC', job: { kind: 'restart', target: 'web', mode: 'reload', extra: 1 } }, 'job'],
      [{ cron: '0 3 * * *', tz: 'UTC', job: { ...stepsJob, extra: 1 } }, 'extra'],
      [{ cron: '0 3 * * *', tz: 'UTC', job: stepsJob, every: 1000 }, 'every'],
      [{ tz: 'UTC', job: stepsJob }, 'cron'],
    ];
    for (const [body, field] of cases) {
      const r = await api(h, operator, 'POST', '/api/schedules', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.code).toBe('invalid_request');
      expect(JSON.stringify(r.json.error), JSON.stringify(body)).toContain(field);
    }
    const named = await api(h, operator, 'POST', '/api/schedules', {
      cron: '0 3 * * *',
      job: { kind: 'script', script: 'steps', params: { count: 99 } },
    });
    expect(Object.keys(named.json.error.details.fieldErrors)).toEqual(['job.count']);
    expect((await api(h, operator, 'POST', '/api/schedules', 'not json')).status).toBe(400);
    expect(await count('SELECT count(*) AS n FROM schedules')).toBe(before);
    expect(await h.producer.queue.getJobSchedulersCount()).toBe(schedulers);
  });

  it('lets viewers read schedules but not create them', async () => {
    const r = await api(h, viewer, 'POST', '/api/schedules', { cron: '0 3 * * *', tz: 'UTC', job: stepsJob });
    expect(r.status).toBe(403);
    expect((await api(h, viewer, 'GET', '/api/schedules')).status).toBe(200);
    expect((await h.app.request('/api/schedules')).status).toBe(401);
  });

  it('refuses a session write without the CSRF token, and a cross-site one', async () => {
    const body = JSON.stringify({ cron: '0 3 * * *', tz: 'UTC', job: stepsJob });
    const send = (headers: Record<string, string>) =>
      h.app.request('http://localhost/api/schedules', {
        method: 'POST',
        body,
        headers: { Cookie: operator.cookie, 'Content-Type': 'application/json', ...headers },
      });
    const noToken = await send({ Origin: 'http://localhost', 'Sec-Fetch-Site': 'same-origin' });
    expect(noToken.status).toBe(403);
    const crossSite = await send({ 'Sec-Fetch-Site': 'cross-site', 'X-CSRF-Token': operator.csrfToken });
    expect(crossSite.status).toBe(403);
    const ok = await send({
      Origin: 'http://localhost',
      'Sec-Fetch-Site': 'same-origin',
      'X-CSRF-Token': operator.csrfToken,
    });
    expect(ok.status).toBe(201);
    expect((await api(h, operator, 'DELETE', `/api/schedules/${(await ok.json()).id}`)).status).toBe(204);
  });

  it('runs at most one catch-up after the workers were down for several occurrences', async () => {
    const s = await create(operator, { cron: EVERY_SECOND, tz: 'UTC', job: stepsJob });
    await runWhere(s.id, (r) => r.outcome === 'started', 'a first run');
    await worker.close(3000);
    const stoppedAt = new Date();
    await sleep(4500); // four or five occurrences pass with no worker
    const restartedAt = new Date();
    worker = await h.startWorker();
    await eventually(
      async () => (await schedule(s.id)).lastRuns.some((r: any) => Date.parse(r.fireAt) > restartedAt.getTime() + 1000),
      20_000,
      'runs on schedule again after the restart',
    );
    // Runs made after the stop for occurrences before the restart: the occurrences missed while down.
    const missed = (await schedule(s.id)).lastRuns.filter(
      (r: any) => Date.parse(r.at) > stoppedAt.getTime() && Date.parse(r.fireAt) < restartedAt.getTime(),
    );
    expect(missed.length).toBeLessThanOrEqual(1);
    // BullMQ keeps one pending tick through the downtime (on both backends): that one is the catch-up.
    const catchUps = (await schedule(s.id)).lastRuns.filter((r: any) => r.catchUp);
    expect(catchUps.length).toBeLessThanOrEqual(1);
    expect((await api(h, operator, 'DELETE', `/api/schedules/${s.id}`)).status).toBe(204);
  });

  it('makes one run of several late ticks, and nothing of a tick whose occurrence was covered', async () => {
    const s = await create(operator, { cron: '0 3 * * *', tz: 'UTC', job: stepsJob });
    const day = 86_400_000;
    const lastOccurrence = Math.floor((Date.now() - 3 * 3_600_000) / day) * day + 3 * 3_600_000;
    // Three ticks for missed occurrences, as a pile-up would bring them; BullMQ itself never queues more than one.
    for (const daysAgo of [3, 2, 1]) {
      await h.producer.queue.add(
        SCHEDULE_TICK,
        { schedule: s.id },
        { jobId: `pile-${s.id}-${daysAgo}`, prevMillis: lastOccurrence - daysAgo * day },
      );
    }
    await runWhere(s.id, (r) => r.job?.status === 'succeeded', 'the catch-up run');
    const ticksDone = async () => {
      const states = await Promise.all([3, 2, 1].map((d) => h.producer.queue.getJobState(`pile-${s.id}-${d}`)));
      return states.every((x) => x === 'completed');
    };
    await eventually(ticksDone, 20_000, 'all three ticks taken');
    const runs = (await schedule(s.id)).lastRuns;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ outcome: 'started', catchUp: true });
    expect((await api(h, operator, 'DELETE', `/api/schedules/${s.id}`)).status).toBe(204);
  });
});

describe('the minimum schedule interval (DECKHAND_SCHEDULE_MIN_INTERVAL_SEC, default 60)', () => {
  let h: Harness;
  let operator: TestUser;
  beforeAll(async () => {
    h = await harness({ env: { DECKHAND_SCHEDULE_MIN_INTERVAL_SEC: '60' } });
    operator = await h.user('operator');
  });
  afterAll(() => h.close());

  it('refuses a cron whose runs come closer than the floor, naming the setting, and stores nothing', async () => {
    const schedulers = await h.producer.queue.getJobSchedulersCount();
    // Every second, every 30 s, and twice a day 30 s apart (its first gap is long: every gap is checked).
    for (const cron of [EVERY_SECOND, '*/30 * * * * *', '0,30 0 3 * * *']) {
      const r = await api(h, operator, 'POST', '/api/schedules', { cron, tz: 'UTC', job: stepsJob });
      expect(r.status, cron).toBe(400);
      expect(Object.keys(r.json.error.details.fieldErrors)).toEqual(['cron']);
      expect(r.json.error.details.fieldErrors.cron[0]).toContain('DECKHAND_SCHEDULE_MIN_INTERVAL_SEC');
    }
    expect(Number((await h.database.db.execute(sql`SELECT count(*) AS n FROM schedules`)).rows[0]!.n)).toBe(0);
    expect(await h.producer.queue.getJobSchedulersCount()).toBe(schedulers);
    for (const cron of ['* * * * *', '0 3 * * *', '0 0,1 3 * * *']) {
      const r = await api(h, operator, 'POST', '/api/schedules', { cron, tz: 'UTC', job: stepsJob });
      expect(r.status, `${cron}: ${r.text}`).toBe(201);
    }
  });
});
