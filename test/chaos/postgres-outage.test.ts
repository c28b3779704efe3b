import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type BackendName, eventually, type Harness, harness, sleep, type TestUser } from '../support/app.ts';
import { freePort, PrivatePostgres } from '../support/postgres.ts';
import {
  chaosScripts,
  hasEveryLine,
  jobRecords,
  long,
  percent,
  runsDir,
  settle,
  submitLines,
  WorkerPool,
  waitAllTerminal,
} from './support.ts';

/**
 * PostgreSQL stopped while a backlog of scripts that print numbered lines runs, then started again:
 * 8 s by default, 30 s with `CHAOS_LONG=1`. On the PostgreSQL backend the queue is on the same
 * cluster, so the outage stops the queue too.
 */
const JOBS = long ? 80 : 40;
const OUTAGE_MS = long ? 30_000 : 8000;
const LINES = 30;

describe.each<BackendName>(['redis', 'postgres'])('a PostgreSQL outage under load (BullMQ on %s)', (backend) => {
  const env = {
    DECKHAND_SCRIPTS_DIR: chaosScripts,
    DECKHAND_LEASE_MS: '3000',
    DECKHAND_QUEUE_LOCK_MS: '3000',
    DECKHAND_WORKER_CONCURRENCY: '4',
  };
  const runs = runsDir();
  let postgres: PrivatePostgres;
  let h: Harness;
  let op: TestUser;
  let pool: WorkerPool;
  beforeAll(async () => {
    postgres = new PrivatePostgres(await freePort());
    await postgres.start();
    h = await harness({ backend, env, adminUrl: postgres.url });
    op = await h.user('operator');
    pool = new WorkerPool(h, env);
    pool.start(2);
  });
  afterAll(async () => {
    try {
      await pool?.close();
      await postgres?.start(); // the harness drops its database on close
      await h?.close();
    } finally {
      await postgres?.destroy();
      runs.remove();
    }
  });

  it(
    'ends every accepted job succeeded, with every line of its output, and leaves no orphan job or process',
    async () => {
      const ids = await submitLines(h, op, JOBS, { count: LINES, tenths: 1, runs: runs.dir });
      expect(ids).toHaveLength(JOBS);
      await eventually(
        async () => (await jobRecords(h, ids)).filter((r) => r.status === 'active').length >= 4,
        60_000,
        'jobs to be running',
      );

      await postgres.stop();
      const stoppedAt = Date.now();
      let refused = 0;
      while (Date.now() - stoppedAt < OUTAGE_MS) {
        // Whatever the API answers meanwhile, a job it accepts must end like the others.
        const res = await api(h, op, 'POST', '/api/jobs', {
          kind: 'script',
          script: 'lines',
          params: { count: LINES, tenths: 1, runs: runs.dir },
        });
        if (res.status === 202) ids.push(res.json.id);
        else refused++;
        await sleep(500);
      }
      await postgres.start();
      const restartedAt = Date.now();
      await waitAllTerminal(h, ids, 180_000);
      const recoveryMs = Date.now() - restartedAt;

      const records = await jobRecords(h, ids);
      // Workers resumed: the first claim or end recorded after the restart.
      const resumed = await h.database.db.execute(sql`SELECT extract(epoch FROM min(at)) * 1000 AS at FROM job_events
      WHERE type = 'status' AND data->>'status' IN ('active', 'succeeded') AND at > to_timestamp(${restartedAt / 1000})`);
      const resumedAfterMs = Math.round(Number(resumed.rows[0]?.at) - restartedAt);
      const runsByJob = runs.runs();
      const { orphans, leftovers } = await settle(h, records);
      const duplicates = records.filter(
        (r) => (runsByJob.get(r.id)?.length ?? 0) > r.attempt || r.activeEvents !== r.attempt,
      );
      const missingLines = records.filter(
        (r) => r.status === 'succeeded' && !hasEveryLine(r.output, LINES) && r.gaps === 0,
      );
      // The script exited 0, yet the job was recorded as lost: a false cause.
      const falselyLost = records.filter((r) => r.status === 'lost' && runsByJob.get(r.id)?.some((clean) => clean));
      const count = (s: string) => records.filter((r) => r.status === s).length;
      const terminal = records.filter((r) => ['succeeded', 'failed', 'cancelled', 'lost'].includes(r.status)).length;
      console.log(
        `[chaos] PostgreSQL outage (${backend}${long ? ', long' : ''}): ${JSON.stringify({
          jobs: ids.length,
          outageMs: restartedAt - stoppedAt,
          refusedDuringOutage: refused,
          terminalPct: percent(terminal, ids.length),
          succeeded: count('succeeded'),
          lost: count('lost'),
          failed: count('failed'),
          falselyLost: falselyLost.length,
          duplicates: duplicates.length,
          missingLines: missingLines.length,
          gaps: records.reduce((n, r) => n + r.gaps, 0),
          resumedAfterRestartMs: resumedAfterMs,
          allEndedAfterRestartMs: recoveryMs,
          workerRestarts: pool.restarts,
          queueOrphans: orphans.length,
          leftoverProcesses: leftovers.length,
        })}`,
      );

      expect(terminal).toBe(ids.length);
      expect(falselyLost.map((r) => r.id)).toEqual([]);
      expect(duplicates.map((r) => r.id)).toEqual([]);
      expect(missingLines.map((r) => r.id)).toEqual([]);
      expect(orphans).toEqual([]);
      expect(leftovers).toEqual([]);
      // No worker died (not even one that started during the outage), and every script exits 0: every job succeeds.
      expect(pool.restarts).toBe(0);
      expect(records.filter((r) => r.status !== 'succeeded').map((r) => `${r.id}: ${r.status} ${r.error}`)).toEqual([]);
    },
    long ? 600_000 : 150_000,
  );
});
