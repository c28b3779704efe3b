import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../config.ts';
import { claimJob } from '../db/jobs.ts';
import { createLeaseReaper } from '../jobs/lib/lease-reaper.ts';
import { JobJournal } from '../worker/journal.ts';
import { api, type Harness, sleep, type TestUser } from './support/app.ts';
import { type HarnessOnPrivatePostgres, harnessOnPrivatePostgres, type PrivatePostgres } from './support/postgres.ts';

/** A job's history and lease through a PostgreSQL outage (a private cluster, stopped and started). */

const log = createLogger('silent', 'test');
let setup: HarnessOnPrivatePostgres;
let postgres: PrivatePostgres;
let h: Harness;
let op: TestUser;

beforeAll(async () => {
  setup = await harnessOnPrivatePostgres();
  ({ postgres, h } = setup);
  op = await h.user('operator');
});
afterAll(async () => setup?.close());

/** A job row claimed by a (pretend) worker, as the runner has it while a script runs. */
async function runningJob(leaseMs = 60_000): Promise<string> {
  const id = (await api(h, op, 'POST', '/api/jobs', { kind: 'script', script: 'steps', params: {} })).json.id;
  expect(await claimJob(h.database.db, id, 'test:1:alive', leaseMs)).not.toBeNull();
  return id;
}

const events = async (id: string) =>
  (await h.database.db.execute(sql`SELECT type, data FROM job_events WHERE job_id = ${id} ORDER BY seq`)).rows as {
    type: string;
    data: Record<string, any>;
  }[];

describe('the journal during a PostgreSQL outage', () => {
  it('holds every output line written while the database is down and stores them, in order, once it is back', async () => {
    const id = await runningJob();
    const journal = new JobJournal(h.database.db, id, 65_536, log);
    journal.output('stdout', 'line 1\n');
    journal.flush();
    await postgres.stop();
    for (let i = 2; i <= 30; i++) {
      journal.output('stdout', `line ${i}\n`);
      journal.flush(); // one write each, every one of them meeting the outage
    }
    await sleep(1500);
    await postgres.start();
    await journal.close();

    const text = (await events(id))
      .filter((e) => e.type === 'output')
      .map((e) => e.data.text)
      .join('');
    expect(text).toBe(Array.from({ length: 30 }, (_, i) => `line ${i + 1}\n`).join(''));
  });

  it('bounds what it holds by the output cap, and marks what it dropped with one gap event', async () => {
    const id = await runningJob();
    const journal = new JobJournal(h.database.db, id, 1024, log);
    await postgres.stop();
    const step = 'x'.repeat(100);
    for (let i = 0; i < 300; i++) void journal.progress(i % 100, step);
    await postgres.start();
    await journal.close();

    const history = await events(id);
    const gaps = history.filter((e) => e.type === 'gap');
    expect(gaps).toHaveLength(1);
    const progress = history.filter((e) => e.type === 'progress');
    expect(gaps[0]!.data.lostEvents).toBeGreaterThan(0);
    expect(progress.length + gaps[0]!.data.lostEvents).toBe(300);
    // The gap sits where the loss began: after what was kept, and nothing follows it.
    expect(history.at(-1)!.type).toBe('gap');
  });
});

describe('the lease reaper after a PostgreSQL outage', () => {
  it('waits a whole lease after the database is back before it declares a job lost', async () => {
    const id = await runningJob(1000);
    const reapPass = createLeaseReaper(h.database.db, log, { leaseMs: 1000, everyMs: 300 });
    await sleep(1200); // the lease has run out, and so has the reaper's own start-up wait
    await postgres.stop();
    await expect(reapPass()).rejects.toThrow();
    await postgres.start();
    // A live worker that could not renew gets a lease's time to do so.
    expect(await reapPass()).toEqual([]);
    expect((await api(h, op, 'GET', `/api/jobs/${id}`)).json.status).toBe('active');
    await sleep(1100);
    expect((await reapPass()).map((j) => j.id)).toEqual([id]);
  });
});
