import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendControl } from '../db/control.ts';
import { api, eventually, type Harness, harness, processAlive, type TestUser } from './support/app.ts';
import { describePids, type NpmStart, npmStart } from './support/npm-start.ts';
import { freePort } from './support/process.ts';
import { childrenOf, cmdline } from './support/procfs.ts';

const postmasterPid = (dataDir: string) =>
  Number(fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);

/** Waits (bounded) until none of the run's processes is alive, and fails naming those that are. */
async function expectAllGone(run: NpmStart, jobIds: string[] = [], timeoutMs = 30_000) {
  await eventually(async () => run.leftovers(jobIds).length === 0, timeoutMs, 'every process of the run to exit').catch(
    () => {
      throw new Error(`still running:\n${describePids(run.leftovers(jobIds))}`);
    },
  );
}

describe('npm start with the embedded database: signals and a dying parent stop everything', () => {
  let dataDir: string;
  let run: NpmStart | undefined;
  beforeEach(() => {
    dataDir = fs.mkdtempSync('/tmp/deckhand-lifecycle-');
    fs.chmodSync(dataDir, 0o755); // the postgres user must reach it when we run as root
  });
  afterEach(async () => {
    await run?.cleanup();
    run = undefined;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('SIGTERM to the npm process stops the supervisor, web tier, workers and PostgreSQL', async () => {
    run = await npmStart({ dataDir, port: await freePort() });
    const postgres = postmasterPid(dataDir);
    const supervisor = run.supervisorPid();
    const children = childrenOf(supervisor).map(cmdline);
    expect(children.filter((c) => c.includes('dist/worker/main.js'))).toHaveLength(2);
    expect(children.filter((c) => c.includes('dist/server/main.js'))).toHaveLength(1);
    // The memory settings reach every Node process of the run (README, footprint), and the embedded
    // cluster runs no I/O worker or replication launcher processes.
    const nodes = [supervisor, ...childrenOf(supervisor)].filter((p) => /^(\S*\/)?node /.test(cmdline(p)));
    expect(nodes.length).toBeGreaterThanOrEqual(5); // supervisor, lifeline, web, 2 workers
    const web = nodes.filter((p) => cmdline(p).includes('dist/server/main.js'));
    expect(web).toHaveLength(1);
    for (const p of nodes) {
      const arenas = fs
        .readFileSync(`/proc/${p}/environ`, 'utf8')
        .split('\0')
        .filter((v) => v.startsWith('MALLOC_'));
      if (web.includes(p)) {
        // It trades a little memory for half the CPU per request (config.ts, WEB_NODE_FLAGS), and keeps
        // glibc's default arenas: capped, its polling cost more CPU.
        expect(cmdline(p)).toContain('--max-semi-space-size=4');
        expect(cmdline(p)).not.toContain('--optimize-for-size');
        expect(arenas).toEqual([]);
      } else {
        expect(cmdline(p)).toContain('--optimize-for-size');
        expect(cmdline(p)).not.toContain('--max-semi-space-size');
        expect(arenas).toEqual(['MALLOC_ARENA_MAX=2']);
      }
    }
    const pgAux = childrenOf(postgres).map(cmdline);
    expect(pgAux.some((c) => c.includes('checkpointer'))).toBe(true);
    expect(pgAux.filter((c) => /io worker|logical replication launcher/.test(c))).toEqual([]);

    run.npm.kill('SIGTERM');
    expect(await run.exited).toBe(0); // npm waited for Deckhand, which stopped cleanly
    await expectAllGone(run);
    expect(processAlive(postgres)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  }, 120_000);

  it('SIGKILL to the supervisor: its web tier, workers and PostgreSQL exit too', async () => {
    run = await npmStart({ dataDir, port: await freePort() });
    const postgres = postmasterPid(dataDir);
    process.kill(run.supervisorPid(), 'SIGKILL');
    await run.exited; // npm reports the child's death
    await expectAllGone(run);
    expect(processAlive(postgres)).toBe(false);
  }, 120_000);
});

describe('stopping with jobs running (SIGTERM-ignoring scripts)', () => {
  let h: Harness;
  let op: TestUser;
  let dataDir: string;
  let run: NpmStart | undefined;
  let jobIds: string[] = [];
  beforeAll(async () => {
    h = await harness({ backend: 'redis' });
    op = await h.user('operator');
  });
  beforeEach(() => {
    dataDir = fs.mkdtempSync('/tmp/deckhand-shutdown-');
    jobIds = [];
  });
  afterEach(async () => {
    await run?.cleanup(jobIds);
    run = undefined;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  afterAll(() => h?.close());

  const start = async (env: Record<string, string>, detached = false) =>
    npmStart({
      dataDir,
      port: await freePort(),
      detached,
      env: {
        DATABASE_URL: h.database.url,
        REDIS_URL: h.queue.redisUrl ?? '',
        DECKHAND_QUEUE: h.queue.name,
        DECKHAND_SCRIPTS_DIR: h.config.DECKHAND_SCRIPTS_DIR,
        ...(h.config.DECKHAND_SECRET_KEY ? { DECKHAND_SECRET_KEY: h.config.DECKHAND_SECRET_KEY } : {}),
        DECKHAND_WORKERS: '1',
        DECKHAND_WEB_PROCESSES: '1',
        ...env,
      },
    });

  /** `count` hang jobs whose scripts (and their children) ignore SIGTERM, once each is running. */
  async function hangingJobs(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const res = await api(h, op, 'POST', '/api/jobs', {
        kind: 'script',
        script: 'hang',
        params: { ignoreTerm: true },
      });
      expect(res.status).toBe(202);
      jobIds.push(res.json.id);
    }
    for (const id of jobIds) {
      await eventually(
        async () => {
          const out = await api(h, op, 'GET', `/api/jobs/${id}/output`);
          return out.json.chunks.some((c: { text: string }) => /pid=\d+ child=\d+/.test(c.text));
        },
        30_000,
        `job ${id} to start its script`,
      );
    }
    expect(run!.leftovers(jobIds).length).toBeGreaterThan(run!.processes().length);
  }

  async function expectEndedByShutdown() {
    const rows = await h.database.db.execute(
      sql`SELECT status, error FROM jobs WHERE id = ANY(${`{${jobIds.join(',')}}`}::uuid[])`,
    );
    expect(rows.rows).toEqual(
      jobIds.map(() => ({ status: 'failed', error: 'the worker shut down before the job finished' })),
    );
  }

  it('a long cancel grace: the jobs are killed and recorded before the supervisor would kill the worker', async () => {
    // The cancel grace is longer than the supervisor's old fixed margin (shutdown grace + 5 s).
    run = await start({ DECKHAND_SHUTDOWN_GRACE_MS: '500', DECKHAND_CANCEL_GRACE_MS: '7000' });
    await hangingJobs(3);
    // Straight to the supervisor, as systemd or a user's kill would.
    process.kill(run.supervisorPid(), 'SIGTERM');
    expect(await run.exited).toBe(0);
    await expectAllGone(run, jobIds, 5_000);
    await expectEndedByShutdown();
    expect(fs.readFileSync(run.logFile, 'utf8')).not.toMatch(/did not stop in time/);
  }, 120_000);

  it('SIGTERM while a recycle waits for its jobs: the normal grace applies, nothing is killed with the worker', async () => {
    run = await start({ DECKHAND_SHUTDOWN_GRACE_MS: '500', DECKHAND_CANCEL_GRACE_MS: '500' });
    await hangingJobs(2);
    // As after a deploy of Deckhand: the worker waits (hours if need be) for its jobs, then exits 75.
    await sendControl(h.database.db, { type: 'recycle-workers', by: 'test' });
    await eventually(async () => fs.readFileSync(run!.logFile, 'utf8').includes('recycled after a deploy'), 15_000);
    process.kill(run.supervisorPid(), 'SIGTERM');
    expect(await run.exited).toBe(0);
    await expectAllGone(run, jobIds, 5_000);
    await expectEndedByShutdown();
    expect(fs.readFileSync(run.logFile, 'utf8')).not.toMatch(/did not stop in time/);
  }, 120_000);

  it('SIGHUP to the whole process group (a closed terminal) stops as gracefully as SIGTERM', async () => {
    run = await start({ DECKHAND_SHUTDOWN_GRACE_MS: '500', DECKHAND_CANCEL_GRACE_MS: '500' }, true);
    await hangingJobs(2);
    process.kill(-run.npm.pid!, 'SIGHUP');
    await run.exited;
    await expectAllGone(run, jobIds, 15_000);
    await expectEndedByShutdown();
  }, 120_000);
});
