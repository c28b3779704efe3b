import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  type BackendName,
  eventually,
  type Harness,
  harness,
  spawnWorker,
  type TestUser,
  waitForStatus,
} from './support/app.ts';
import { freePort, PrivatePostgres } from './support/postgres.ts';
import { stopChild } from './support/process.ts';

/**
 * A worker that starts while PostgreSQL is down (both restarted together, or a supervisor's retry)
 * used to exit at once; on BullMQ's PostgreSQL backend its queue objects would have kept the failed
 * first connect for good. It waits for the database instead, then takes jobs.
 */
describe.each<BackendName>(['redis', 'postgres'])(
  'a worker started while PostgreSQL is down (BullMQ on %s)',
  (backend) => {
    let postgres: PrivatePostgres;
    let h: Harness;
    let op: TestUser;
    const logFile = path.join(os.tmpdir(), `deckhand-worker-start-${process.pid}-${backend}.log`);
    beforeAll(async () => {
      postgres = new PrivatePostgres(await freePort());
      await postgres.start();
      h = await harness({ backend, adminUrl: postgres.url });
      op = await h.user('operator');
    });
    afterAll(async () => {
      try {
        await postgres?.start(); // the harness drops its database on close
        await h?.close();
      } finally {
        await postgres?.destroy();
        fs.rmSync(logFile, { force: true });
      }
    });

    it('waits for it instead of exiting, and runs jobs once it is back', async () => {
      await postgres.stop();
      const fd = fs.openSync(logFile, 'w');
      const worker = spawnWorker(h, { LOG_LEVEL: 'warn' }, fd);
      fs.closeSync(fd);
      let exitCode: number | null | undefined;
      worker.once('exit', (code) => {
        exitCode = code;
      });
      try {
        await eventually(
          async () => exitCode !== undefined || fs.readFileSync(logFile, 'utf8').includes('"what":"worker start"'),
          30_000,
          'the worker to wait for the database, or exit',
        );
        expect(exitCode, fs.readFileSync(logFile, 'utf8')).toBeUndefined();
        await postgres.start();
        const res = await api(h, op, 'POST', '/api/jobs', { kind: 'script', script: 'steps', params: { count: 1 } });
        expect(res.status).toBe(202);
        await waitForStatus(h, op, res.json.id, ['succeeded'], 60_000);
        expect(exitCode).toBeUndefined(); // the same process, never restarted
      } finally {
        await stopChild(worker, 'SIGTERM');
      }
    }, 120_000);
  },
);
