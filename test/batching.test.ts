import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handlersOf } from '../worker/kinds/handler.ts';
import script from '../worker/kinds/script.ts';
import noop from './bench/noop.ts';
import { api, eventually, type Harness, harness, type TestUser } from './support/app.ts';

/**
 * Concurrent requests share statements: their inserts go in one multi-row INSERT, their claims
 * and finishes in one UPDATE each (db/job-batches.ts). Whatever shares a statement, every job
 * keeps its own row, audit row and a history numbered 1..n in the order things happened.
 */
let h: Harness;
let user: TestUser;
beforeAll(async () => {
  h = await harness({ registry: handlersOf(script, noop), env: { DECKHAND_WORKER_CONCURRENCY: '16' } });
  user = await h.user('operator');
});
afterAll(async () => {
  await h?.close();
});

const rows = async (q: ReturnType<typeof sql>) => (await h.database.db.execute(q)).rows as Record<string, unknown>[];

describe('jobs submitted, claimed and finished together', () => {
  it('each keeps its own row, audit row and contiguous history; a key shared in one burst makes one job', async () => {
    const keyed = (i: number) => i % 10 === 0;
    const answers = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        keyed(i)
          ? api(h, user, 'POST', '/api/jobs', { kind: 'noop', n: i % 30 }, { 'Idempotency-Key': `burst-${i % 30}` })
          : api(h, user, 'POST', '/api/jobs', { kind: 'noop', n: i }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    const ids = answers.map((a) => a.json.id as string);
    // Keys burst-0, burst-10, burst-20 were each sent four times: one job per key.
    for (const key of [0, 10, 20]) {
      const same = new Set(ids.filter((_, i) => i % 10 === 0 && i % 30 === key));
      expect(same.size).toBe(1);
    }
    const distinct = new Set(ids);
    expect(distinct.size).toBe(108 + 3);

    await h.startWorker();
    await eventually(
      async () =>
        Number((await rows(sql`SELECT count(*)::int AS n FROM jobs WHERE status = 'succeeded'`))[0]!.n) ===
        distinct.size,
      30_000,
      'every job to succeed',
    );
    const history = await rows(
      sql`SELECT job_id::text AS id, array_agg(seq ORDER BY seq) AS seqs,
                 array_agg(data->>'status' ORDER BY seq) AS statuses, max(j.last_seq) AS last
          FROM job_events e JOIN jobs j ON j.id = e.job_id GROUP BY job_id`,
    );
    expect(history.length).toBe(distinct.size);
    for (const job of history) {
      expect(job.seqs).toEqual([1, 2, 3]);
      expect(job.statuses).toEqual(['queued', 'active', 'succeeded']);
      expect(job.last).toBe(3);
    }
    const audited = await rows(
      sql`SELECT count(*)::int AS n FROM audit_log WHERE action = 'job.enqueue' AND actor = ${user.username}`,
    );
    expect(audited[0]!.n).toBe(distinct.size);
  });
});
