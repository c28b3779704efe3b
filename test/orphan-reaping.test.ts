import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimJob } from '../db/jobs.ts';
import { killOrphanedJobProcesses } from '../worker/orphans.ts';
import {
  api,
  eventually,
  type Harness,
  harness,
  processAlive,
  spawnWorker,
  type TestUser,
  waitForStatus,
} from './support/app.ts';
import { stopChild } from './support/process.ts';

const hangJob = { kind: 'script', script: 'hang', params: {} };

describe('a dead worker’s job processes are killed at once, not a lease later', () => {
  const env = { DECKHAND_LEASE_MS: '15000', DECKHAND_QUEUE_LOCK_MS: '2000' };
  let h: Harness;
  let op: TestUser;
  let worker: ChildProcess | undefined;
  beforeAll(async () => {
    h = await harness({ env });
    op = await h.user('operator');
  });
  afterAll(async () => {
    if (worker) await stopChild(worker, 'SIGKILL');
    await h.close();
  });

  it('kills the orphaned process group within seconds, while the job is still within its lease', async () => {
    worker = spawnWorker(h, env);
    const id = (await api(h, op, 'POST', '/api/jobs', hangJob)).json.id as string;
    const pids = await eventually(
      async () => {
        const out = await api(h, op, 'GET', `/api/jobs/${id}/output`);
        const m = /pid=(\d+) child=(\d+)/.exec(out.json.chunks.map((c: { text: string }) => c.text).join(''));
        return m ? [Number(m[1]), Number(m[2])] : null;
      },
      30_000,
      'the script to start in the worker process',
    );
    await stopChild(worker, 'SIGKILL');
    await h.startWorker(); // a surviving worker on the same host
    await eventually(async () => !pids.some(processAlive), 5000, 'the orphaned script and its child to be killed');
    // Its lease (15 s) has not run out: the killing did not wait for the job to be declared lost.
    expect((await api(h, op, 'GET', `/api/jobs/${id}`)).json.status).toBe('active');
  });
});

describe('reaping never signals a process group that is no longer the job’s', () => {
  let h: Harness;
  let op: TestUser;
  let bystander: ChildProcess;
  beforeAll(async () => {
    h = await harness({ env: { DECKHAND_LEASE_MS: '2000' } });
    op = await h.user('operator');
    // An unrelated process leading its own group, whose pid the dead worker's job row names (a reused pid).
    bystander = spawn('sleep', ['120'], { detached: true, stdio: 'ignore' });
  });
  afterAll(async () => {
    await stopChild(bystander, 'SIGKILL');
    await h.close();
  });

  it('marks the job lost and leaves the process that now has its pid alone', async () => {
    const id = (await api(h, op, 'POST', '/api/jobs', hangJob)).json.id as string;
    // Claimed by a worker of this host that has since died, with a pid that is now someone else's.
    expect(await claimJob(h.database.db, id, `${h.config.hostname}:999999:gone`, 2000)).not.toBeNull();
    await h.database.db.execute(
      sql`UPDATE jobs SET pid = ${bystander.pid!}, lease_expires_at = now() - interval '1 second' WHERE id = ${id}`,
    );
    await h.startWorker();
    await waitForStatus(h, op, id, ['lost'], 15_000);
    // The reaper had its chance to signal (it would have, at once, after marking the job lost).
    await new Promise((r) => setTimeout(r, 2000));
    expect(processAlive(bystander.pid!)).toBe(true);
  });
});

describe('the orphan killer trusts only job processes of its own user', () => {
  let h: Harness;
  let op: TestUser;
  let group: ChildProcess | undefined;
  beforeAll(async () => {
    h = await harness();
    op = await h.user('operator');
  });
  afterAll(async () => {
    if (group?.pid) {
      try {
        process.kill(-group.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await h.close();
  });

  it('never kills a process group because another user planted an ended job’s DECKHAND_JOB_ID in it', async () => {
    const id = (await api(h, op, 'POST', '/api/jobs', hangJob)).json.id as string;
    await h.database.db.execute(sql`UPDATE jobs SET status = 'cancelled', finished_at = now() WHERE id = ${id}`);
    // A root shell leads its own group; a service account's process in that group claims to be the job's.
    group = spawn(
      'sh',
      ['-c', `setpriv --reuid=65534 --regid=65534 --clear-groups env DECKHAND_JOB_ID=${id} sleep 120 & wait`],
      { detached: true, stdio: 'ignore' },
    );
    const shell = group.pid!;
    await eventually(
      async () =>
        fs
          .readdirSync('/proc')
          .filter((n) => /^\d+$/.test(n))
          .some((n) => {
            try {
              return fs.readFileSync(`/proc/${n}/environ`, 'latin1').includes(`DECKHAND_JOB_ID=${id}`);
            } catch {
              return false;
            }
          }) || null,
      10_000,
      'the planted process to start',
    );
    const killed = await killOrphanedJobProcesses(h.database.db, h.config.hostname, pino({ level: 'silent' }));
    expect(killed).toBe(0);
    expect(processAlive(shell)).toBe(true);
  });
});
