import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeScheduleIds } from '../db/schedules.ts';
import { hasScheduler, removeScheduler, syncSchedulers, upsertScheduler } from '../jobs/lib/schedules.ts';
import { api, type BackendName, type Harness, harness, type TestUser } from './support/app.ts';

// The workers' sync makes BullMQ's schedulers match the schedules table. A sync that ran while a
// create was still making its scheduler upserted it a second time, racing the create's own upsert:
// BullMQ refused one of them, and CI saw a 503 on POST /api/schedules for a schedule that was live.
const stepsJob = { kind: 'script', script: 'steps', params: { count: 1 } };

describe.each<BackendName>(['redis', 'postgres'])('the schedule sync (%s)', (backend) => {
  let h: Harness;
  let operator: TestUser;

  beforeAll(async () => {
    h = await harness({ backend });
    operator = await h.user('operator');
  });
  afterAll(() => h.close());

  const sync = () => syncSchedulers(h.producer.queue, () => activeScheduleIds(h.database.db));

  it('leaves a just-created schedule to its create, then repairs a missing scheduler', async () => {
    const r = await api(h, operator, 'POST', '/api/schedules', {
      cron: '0 3 * * *',
      tz: 'UTC',
      job: stepsJob,
    });
    expect(r.status, r.text).toBe(201);
    const id = r.json.id as string;
    await removeScheduler(h.producer.queue, id); // as if the create had died between its commit and its scheduler

    expect(await sync()).toEqual({ added: 0, removed: 0 });
    expect(await hasScheduler(h.producer.queue, id)).toBe(false);

    await h.database.db.execute(sql`UPDATE schedules SET created_at = now() - interval '1 minute' WHERE id = ${id}`);
    expect(await sync()).toEqual({ added: 1, removed: 0 });
    expect(await hasScheduler(h.producer.queue, id)).toBe(true);
    expect(await sync()).toEqual({ added: 0, removed: 0 });
    expect((await api(h, operator, 'DELETE', `/api/schedules/${id}`)).status).toBe(204);
  });

  it('removes a scheduler whose schedule is gone, but not a fresh schedule’s', async () => {
    const orphan = randomUUID();
    await upsertScheduler(h.producer.queue, { id: orphan, cron: '0 3 * * *', tz: 'UTC' });
    const r = await api(h, operator, 'POST', '/api/schedules', {
      cron: '0 4 * * *',
      tz: 'UTC',
      job: stepsJob,
    });
    expect(r.status, r.text).toBe(201);
    expect(await sync()).toEqual({ added: 0, removed: 1 });
    expect(await hasScheduler(h.producer.queue, orphan)).toBe(false);
    expect(await hasScheduler(h.producer.queue, r.json.id)).toBe(true);
    expect((await api(h, operator, 'DELETE', `/api/schedules/${r.json.id}`)).status).toBe(204);
  });
});
