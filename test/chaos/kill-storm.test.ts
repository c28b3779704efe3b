import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackendName, type Harness, harness, sleep, type TestUser } from '../support/app.ts';
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
 * Worker processes SIGKILLed at random, again and again, while jobs run. Short by default; `CHAOS_LONG=1`
 * for 100 jobs and 40 kills.
 */
const JOBS = long ? 100 : 40;
const KILLS = long ? 40 : 6;
const KILL_EVERY_MS = long ? 1000 : 1500;
const LINES = 10;

describe.each<BackendName>(['redis', 'postgres'])('a kill storm on the workers (BullMQ on %s)', (backend) => {
  const env = {
    DECKHAND_SCRIPTS_DIR: chaosScripts,
    DECKHAND_LEASE_MS: '2000',
    DECKHAND_QUEUE_LOCK_MS: '2000',
    DECKHAND_WORKER_CONCURRENCY: '4',
  };
  const runs = runsDir();
  let h: Harness;
  let op: TestUser;
  let pool: WorkerPool;
  beforeAll(async () => {
    h = await harness({ backend, env });
    op = await h.user('operator');
    pool = new WorkerPool(h, env);
    pool.start(3);
  });
  afterAll(async () => {
    try {
      await pool?.close();
      await h?.close();
    } finally {
      runs.remove();
    }
  });

  it(
    'ends every accepted job, runs none twice unseen, and leaves no orphan job or process',
    async () => {
      const ids = await submitLines(h, op, JOBS, { count: LINES, tenths: 3, runs: runs.dir });
      expect(ids).toHaveLength(JOBS);
      for (let k = 0; k < KILLS; k++) {
        await sleep(KILL_EVERY_MS);
        pool.killOne();
      }
      const lastKill = Date.now();
      await waitAllTerminal(h, ids, 120_000);
      const recoveryMs = Date.now() - lastKill;

      const records = await jobRecords(h, ids);
      const runsByJob = runs.runs();
      const { orphans, leftovers } = await settle(h, records);
      // A run the history does not show: more script runs than attempts, or attempts without their event.
      const duplicates = records.filter(
        (r) => (runsByJob.get(r.id)?.length ?? 0) > r.attempt || r.activeEvents !== r.attempt,
      );
      const count = (s: string) => records.filter((r) => r.status === s).length;
      const terminal = records.filter((r) => ['succeeded', 'failed', 'cancelled', 'lost'].includes(r.status)).length;
      console.log(
        `[chaos] kill storm (${backend}${long ? ', long' : ''}): ${JSON.stringify({
          jobs: ids.length,
          kills: pool.kills,
          terminalPct: percent(terminal, ids.length),
          succeeded: count('succeeded'),
          lost: count('lost'),
          failed: count('failed'),
          duplicates: duplicates.length,
          recoveryAfterLastKillMs: recoveryMs,
          queueOrphans: orphans.length,
          leftoverProcesses: leftovers.length,
        })}`,
      );

      expect(records).toHaveLength(ids.length);
      expect(terminal).toBe(ids.length);
      expect(duplicates.map((r) => r.id)).toEqual([]);
      expect(orphans).toEqual([]);
      expect(leftovers).toEqual([]);
      for (const r of records.filter((x) => x.status === 'succeeded')) {
        expect(hasEveryLine(r.output, LINES) || r.gaps > 0, `output of ${r.id}`).toBe(true);
      }
      // Nothing fails here: a job either ran to its end or its worker died under it (lost, never rerun).
      expect(records.filter((r) => r.status !== 'succeeded' && r.status !== 'lost')).toEqual([]);
    },
    long ? 600_000 : 150_000,
  );
});
