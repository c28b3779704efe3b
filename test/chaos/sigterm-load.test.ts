import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackendName, eventually, type Harness, harness, sleep, type TestUser } from '../support/app.ts';
import { describePids, type NpmStart } from '../support/npm-start.ts';
import { postJobs, startDeckhand, workerPids } from './processes.ts';
import { jobRecords, long, percent, queueOrphans, runsDir, waitAllTerminal } from './support.ts';

/**
 * SIGTERM while a backlog runs: first to one worker process (the supervisor starts another), then to
 * the `npm start` process itself; then Deckhand is started again and works the rest off. Short by
 * default; `CHAOS_LONG=1` for a bigger backlog.
 */
const JOBS = long ? 120 : 40;
const LINES = 10;
const SHUTDOWN_ERROR = 'the worker shut down before the job finished';

describe.each<BackendName>(['redis', 'postgres'])('SIGTERM during load (npm start, BullMQ on %s)', (backend) => {
  const env = {
    DECKHAND_WORKERS: '2',
    DECKHAND_WORKER_CONCURRENCY: '4',
    DECKHAND_SHUTDOWN_GRACE_MS: '1500',
    DECKHAND_CANCEL_GRACE_MS: '1000',
    DECKHAND_LEASE_MS: '3000',
  };
  const runs = runsDir();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-sigterm-'));
  let h: Harness;
  let op: TestUser;
  let run: NpmStart | undefined;
  let ids: string[] = [];
  beforeAll(async () => {
    h = await harness({ backend });
    op = await h.user('operator');
  });
  afterAll(async () => {
    try {
      await run?.cleanup(ids);
      await h?.close();
    } finally {
      runs.remove();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  const activeRows = async () =>
    (await h.database.db.execute(sql`SELECT count(*)::int AS n FROM jobs WHERE status = 'active'`)).rows[0]!.n;

  /** SIGTERM to npm: it must wait for Deckhand, and nothing of the run or its jobs may be left. */
  async function stopAll(current: NpmStart): Promise<number> {
    const t0 = Date.now();
    current.npm.kill('SIGTERM');
    expect(await current.exited).toBe(0);
    const stopMs = Date.now() - t0;
    await eventually(async () => current.leftovers(ids).length === 0, 5000, 'the run to be gone').catch(() => {
      throw new Error(`left running:\n${describePids(current.leftovers(ids))}`);
    });
    expect(await activeRows()).toBe(0);
    return stopMs;
  }

  it(
    'ends every accepted job, runs none twice, leaves no active row, orphan or process',
    async () => {
      run = await startDeckhand(h, dataDir, env);
      const posted = await postJobs(run, op, JOBS, {
        kind: 'script',
        script: 'lines',
        params: { count: LINES, tenths: 2, runs: runs.dir },
      });
      ids = posted.ids;
      expect(posted.statuses.filter((s) => s !== 202)).toEqual([]);

      // One worker, mid-run: it stops taking jobs, its running ones finish or fail (shutdown), it exits; another starts.
      await sleep(1500);
      const [first] = workerPids(run);
      process.kill(first!, 'SIGTERM');
      await eventually(
        async () => workerPids(run!).length === 2 && !workerPids(run!).includes(first!),
        20_000,
        'a new worker',
      );

      // Then the whole of Deckhand, through npm, with jobs still running and others waiting.
      await sleep(1000);
      const stopMs = await stopAll(run);
      const afterStop = await jobRecords(h, ids);
      const queuedAtStop = afterStop.filter((r) => r.status === 'queued').length;

      // Started again, it works the rest off.
      const restartedAt = Date.now();
      run = await startDeckhand(h, dataDir, env);
      await waitAllTerminal(h, ids, long ? 240_000 : 90_000);
      const drainMs = Date.now() - restartedAt;
      const finalStopMs = await stopAll(run);

      const records = await jobRecords(h, ids);
      const runsByJob = runs.runs();
      const duplicates = records.filter(
        (r) => (runsByJob.get(r.id)?.length ?? 0) > r.attempt || r.activeEvents !== r.attempt,
      );
      const succeeded = records.filter((r) => r.status === 'succeeded');
      const shutdown = records.filter((r) => r.status === 'failed' && r.error === SHUTDOWN_ERROR);
      const orphans = await queueOrphans(h, records);
      console.log(
        `[chaos] SIGTERM during load (${backend}${long ? ', long' : ''}): ${JSON.stringify({
          jobs: ids.length,
          terminalPct: percent(succeeded.length + shutdown.length, ids.length),
          succeeded: succeeded.length,
          failedAtShutdown: shutdown.length,
          queuedAtStop,
          duplicates: duplicates.length,
          npmStopMs: stopMs,
          drainAfterRestartMs: drainMs,
          finalStopMs,
          queueOrphans: orphans.length,
        })}`,
      );

      expect(records).toHaveLength(ids.length);
      // Stopped on purpose, never lost: a job either ran to its end or was stopped and says so.
      expect(
        records.filter((r) => r.status !== 'succeeded' && !(r.status === 'failed' && r.error === SHUTDOWN_ERROR)),
      ).toEqual([]);
      expect(duplicates.map((r) => r.id)).toEqual([]);
      expect(orphans).toEqual([]);
      expect(queuedAtStop).toBeGreaterThan(0); // the restart had work to pick up
    },
    long ? 600_000 : 150_000,
  );
});
