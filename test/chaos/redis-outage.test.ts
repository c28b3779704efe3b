import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, harness, sleep, type TestUser } from '../support/app.ts';
import type { NpmStart } from '../support/npm-start.ts';
import { freePort, PrivateRedis } from '../support/redis.ts';
import { type Answer, call, postJobs, startDeckhand, workerPids } from './processes.ts';
import { hasEveryLine, jobRecords, long, percent, queueOrphans, runsDir, waitAllTerminal } from './support.ts';

/**
 * Redis (a private redis-server, no persistence) killed while a backlog runs under `npm start`, then
 * started again on the same port: 8 s by default, 30 s with `CHAOS_LONG=1`. Redis comes back empty,
 * so the queue itself is lost; the rows in PostgreSQL are what Deckhand recovers from.
 */
const JOBS = long ? 120 : 40;
const OUTAGE_MS = long ? 30_000 : 8000;
const LINES = 10;

describe('a Redis outage under load (npm start, BullMQ on Redis)', () => {
  const runs = runsDir();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-redis-outage-'));
  const ids: string[] = [];
  let redis: PrivateRedis;
  let h: Harness;
  let op: TestUser;
  let run: NpmStart | undefined;
  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    h = await harness({ backend: 'redis', env: { REDIS_URL: redis.url } });
    op = await h.user('operator');
    run = await startDeckhand(h, dataDir, {
      DECKHAND_WORKERS: '2',
      DECKHAND_WORKER_CONCURRENCY: '4',
      DECKHAND_LEASE_MS: '3000',
      DECKHAND_SHUTDOWN_GRACE_MS: '2000',
      DECKHAND_CANCEL_GRACE_MS: '1000',
    });
  });
  afterAll(async () => {
    try {
      await run?.cleanup(ids);
      await redis?.start(); // the harness closes its queue connections
      await h?.close();
    } finally {
      await redis?.kill();
      runs.remove();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  const job = { kind: 'script', script: 'lines', params: { count: LINES, tenths: 1, runs: runs.dir } };

  it(
    'answers 503 with a reason meanwhile, never 500; the same workers resume; every accepted job succeeds once',
    async () => {
      const workersBefore = workerPids(run!).sort();
      const backlog = await postJobs(run!, op, JOBS, job);
      ids.push(...backlog.ids);
      expect(backlog.statuses.filter((s) => s !== 202)).toEqual([]);
      await sleep(1000); // jobs are running, others wait in the queue

      await redis.kill();
      const downAt = Date.now();
      // Keep asking while Redis is down: readiness, new jobs, a job's status.
      const answers: { what: string; answer: Answer }[] = [];
      while (Date.now() - downAt < OUTAGE_MS) {
        for (const [what, method, url, body] of [
          ['readyz', 'GET', '/readyz', undefined],
          ['POST /api/jobs', 'POST', '/api/jobs', job],
          ['GET /api/jobs/:id', 'GET', `/api/jobs/${ids[0]}`, undefined],
        ] as const) {
          const answer = await call(run!, op, method, url, body);
          answers.push({ what, answer });
          if (what === 'POST /api/jobs' && answer.status === 202 && answer.body?.id) ids.push(answer.body.id);
        }
        await sleep(250);
      }
      await redis.start();
      const upAt = Date.now();

      // The first job accepted after Redis is back shows when the workers took jobs again.
      const probe = await eventually(
        async () => {
          const r = await call(run!, op, 'POST', '/api/jobs', job);
          return r.status === 202 ? r.body?.id : null;
        },
        30_000,
        'the API to accept jobs again',
      );
      ids.push(probe);
      const apiBackMs = Date.now() - upAt;
      await eventually(
        async () => {
          const r = await call(run!, op, 'GET', `/api/jobs/${probe}`);
          return r.status === 200 && (r.body as { status?: string }).status !== 'queued';
        },
        60_000,
        'a job accepted after the outage to start',
      );
      const recoveryMs = Date.now() - upAt;
      await waitAllTerminal(h, ids, long ? 240_000 : 90_000);
      const drainMs = Date.now() - upAt;

      const records = await jobRecords(h, ids);
      const runsByJob = runs.runs();
      const duplicates = records.filter(
        (r) => (runsByJob.get(r.id)?.length ?? 0) > r.attempt || r.activeEvents !== r.attempt,
      );
      const succeeded = records.filter((r) => r.status === 'succeeded');
      const codes = (pred: (a: Answer) => boolean) => answers.filter((a) => pred(a.answer)).length;
      const orphans = await queueOrphans(h, records);
      console.log(
        `[chaos] Redis outage ${OUTAGE_MS / 1000} s (${long ? 'long' : 'short'}): ${JSON.stringify({
          jobs: ids.length,
          acceptedDuringOutage: ids.length - backlog.ids.length - 1,
          succeededPct: percent(succeeded.length, ids.length),
          duplicates: duplicates.length,
          answersDuringOutage: answers.length,
          answered503: codes((a) => a.status === 503),
          answered500: codes((a) => a.status >= 500 && a.status !== 503),
          noAnswer: codes((a) => a.status === 0),
          apiAcceptsAfterRedisBackMs: apiBackMs,
          workersTakeJobsAfterRedisBackMs: recoveryMs,
          drainAfterRedisBackMs: drainMs,
          workerRestarts: workerPids(run!).sort().join() === workersBefore.join() ? 0 : 'some',
          queueOrphans: orphans.length,
        })}`,
      );

      // Meanwhile: 503 with a code and a reason (or a normal answer), never a 500, never silence.
      for (const { what, answer } of answers) {
        expect([200, 202, 503], what).toContain(answer.status);
        if (answer.status === 503) expect(answer.body?.error?.message, what).toBeTruthy();
      }
      expect(answers.some((a) => a.what === 'readyz' && a.answer.status === 503)).toBe(true);
      // The same worker processes took jobs again: no restart was needed.
      expect(workerPids(run!).sort()).toEqual(workersBefore);
      expect(records.filter((r) => r.status !== 'succeeded').map((r) => `${r.id} ${r.status} ${r.error}`)).toEqual([]);
      for (const r of succeeded) expect(hasEveryLine(r.output, LINES) || r.gaps > 0, `output of ${r.id}`).toBe(true);
      expect(duplicates.map((r) => r.id)).toEqual([]);
      expect(orphans).toEqual([]);
      expect(run!.leftovers(ids).filter((p) => !run!.processes().includes(p))).toEqual([]); // no job process left
    },
    long ? 600_000 : 150_000,
  );
});
