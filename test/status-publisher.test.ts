import { type ChildProcess, execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetSpec } from '../jobs/lib/targets.ts';
import { certDaysLeft } from '../worker/status/target-probe.ts';
import { api, eventually, type Harness, harness, spawnWorker, type TestUser, waitForStatus } from './support/app.ts';
import { stopChild } from './support/process.ts';
import { makeCert, scratchDir, startSupervisordPrograms } from './support/services.ts';

const run = promisify(execFile);
const INTERVAL = '300';

type Status = {
  running: boolean;
  pid: number | null;
  startedAt: string | null;
  certDaysLeft: number | null;
  certError: string | null;
};

async function statusOf(h: Harness, target: string): Promise<Status | null> {
  const r = await h.database.db.$client.query('SELECT status FROM target_status WHERE target = $1', [target]);
  return r.rows[0]?.status ?? null;
}

/** Waits until `target`'s status is published once more after its current row. */
async function anotherSample(h: Harness, target: string): Promise<void> {
  const pool = h.database.db.$client;
  const published = await pool.query('SELECT updated_at FROM target_status WHERE target = $1', [target]);
  await eventually(async () => {
    const r = await pool.query('SELECT updated_at > $2 AS later FROM target_status WHERE target = $1', [
      target,
      published.rows[0].updated_at,
    ]);
    return r.rows[0].later;
  });
}

const restartRows = async (h: Harness, target: string) =>
  (await h.database.db.$client.query('SELECT * FROM target_restarts WHERE target = $1 ORDER BY id', [target])).rows;

describe('status publisher: real figures, real supervisor programs, unexpected restarts', () => {
  let h: Harness;
  let admin: TestUser;
  let sup: Awaited<ReturnType<typeof startSupervisordPrograms>>;
  let dir: string;

  beforeAll(async () => {
    h = await harness({ env: { DECKHAND_STATUS_INTERVAL_MS: INTERVAL } });
    admin = await h.user('admin');
    dir = scratchDir('status');
    sup = await startSupervisordPrograms(dir, ['web', 'idle'], ['idle']);
    const soon = await makeCert(dir, 'soon', ['localhost'], 7);
    fs.symlinkSync(soon.cert, path.join(dir, 'planted.crt'));
    const tls = (certPath: string) => ({ certPath, keyPath: soon.key, reload: 'restart', probe: '127.0.0.1:1' });
    const put = async (name: string, spec: object) =>
      expect((await api(h, admin, 'PUT', `/api/targets/${name}`, spec)).status).toBe(201);
    await put('web', { manager: 'supervisor', program: 'web', configPath: sup.config, tls: tls(soon.cert) });
    await put('idle', {
      manager: 'supervisor',
      program: 'idle',
      configPath: sup.config,
      tls: tls(path.join(dir, 'planted.crt')),
    });
    await h.startWorker();
  });
  afterAll(async () => {
    await sup?.stop();
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('publishes the host figures: the disk of /, memory, load, uptime, and no systemd here', async () => {
    const row = await eventually(
      async () =>
        (await h.database.db.$client.query('SELECT * FROM host_status WHERE host = $1', [h.config.DECKHAND_HOST_NAME]))
          .rows[0],
    );
    const f = row.figures;
    const root = f.mounts.find((m: { mount: string }) => m.mount === '/');
    expect(root.sizeBytes).toBeGreaterThan(0);
    expect(root.usedPct).toBeGreaterThan(0);
    expect(f.mounts.map((m: { fstype: string }) => m.fstype)).not.toContain('proc');
    expect(f.memory.totalBytes).toBeGreaterThan(0);
    expect(f.memory.availableBytes).toBeGreaterThan(0);
    expect(f.cpus).toBeGreaterThan(0);
    expect(f.uptimeSec).toBeGreaterThan(0);
    expect(f.systemd).toBe(fs.existsSync('/run/systemd/system'));
    if (!f.systemd) expect(f.failedUnits).toBeNull();
  });

  it('publishes a running program with its pid and start time, a stopped one as stopped, and certificate days', async () => {
    const pid = Number((await run('supervisorctl', ['-c', sup.config, 'pid', 'web'])).stdout.trim());
    const web = await eventually(async () => ((await statusOf(h, 'web'))?.pid === pid ? statusOf(h, 'web') : null));
    expect(web).toMatchObject({ running: true, pid, certError: null });
    expect(web!.certDaysLeft).toBeGreaterThanOrEqual(6);
    expect(web!.certDaysLeft).toBeLessThanOrEqual(7);
    const started = Date.parse(web!.startedAt!);
    expect(Math.abs(started - fs.statSync(`/proc/${pid}`).mtimeMs)).toBeLessThan(60_000);
    const idle = await eventually(() => statusOf(h, 'idle'));
    expect(idle).toMatchObject({ running: false, pid: null, certDaysLeft: null });
    expect(idle!.certError).toContain('refusing to follow a symlink');
  });

  it('a restart done out of band is recorded once; a restart done by a Deckhand job is not', async () => {
    const before = (await statusOf(h, 'web'))!.pid;
    expect(await restartRows(h, 'web')).toEqual([]);
    await run('supervisorctl', ['-c', sup.config, 'restart', 'web']);
    const rows = await eventually(async () => {
      const r = await restartRows(h, 'web');
      return r.length > 0 ? r : null;
    });
    const after = (await eventually(async () => {
      const s = await statusOf(h, 'web');
      return s?.running && s.pid !== before ? s : null;
    }))!.pid;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ old_pid: before, new_pid: after });
    expect(rows[0].detail).toMatch(
      new RegExp(`^pid ${before} → ${after}, started \\d\\d:\\d\\d:\\d\\d UTC, no Deckhand job$`),
    );

    const job = await api(h, admin, 'POST', '/api/jobs', { kind: 'restart', target: 'web', mode: 'restart' });
    expect(job.status).toBe(202);
    await waitForStatus(h, admin, job.json.id, ['succeeded'], 30_000);
    const jobPid = Number((await run('supervisorctl', ['-c', sup.config, 'pid', 'web'])).stdout.trim());
    expect(jobPid).not.toBe(after);
    // Published with the new pid, then a few more samples: still the one out-of-band row.
    await eventually(async () => (await statusOf(h, 'web'))?.pid === jobPid);
    await anotherSample(h, 'web');
    expect(await restartRows(h, 'web')).toHaveLength(1);
  });

  it('answers the target-status and host-figures live reads', async () => {
    const live = (await h.host.read(h.config.DECKHAND_HOST_NAME, 'target-status', { target: 'idle' })) as Status;
    expect(live).toMatchObject({ running: false, pid: null });
    const figures = (await h.host.read(h.config.DECKHAND_HOST_NAME, 'host-figures', {})) as {
      memory: { totalBytes: number };
    };
    expect(figures.memory.totalBytes).toBeGreaterThan(0);
    await expect(
      h.host.read(h.config.DECKHAND_HOST_NAME, 'target-status', { target: 'idle', x: 1 }),
    ).rejects.toMatchObject({
      status: 400,
    });
    await expect(h.host.read(h.config.DECKHAND_HOST_NAME, 'target-status', { target: 'nope' })).rejects.toMatchObject({
      status: 404,
    });
  });

  it('reads a certificate only as a regular file under the managed paths, never a huge one or a FIFO', async () => {
    const managed = h.config.DECKHAND_MANAGED_PATHS;
    const spec = (certPath: string) =>
      targetSpec.parse({
        manager: 'systemd',
        unit: 'x.service',
        tls: { certPath, keyPath: certPath, reload: 'restart', probe: '127.0.0.1:1' },
      });
    fs.writeFileSync(path.join(dir, 'huge.crt'), Buffer.alloc(1024 * 1024, 65));
    await run('mkfifo', [path.join(dir, 'fifo.crt')]);
    fs.writeFileSync(path.join(dir, 'junk.crt'), 'not a certificate');
    expect((await certDaysLeft(spec(path.join(dir, 'huge.crt')), managed)).certError).toBe(
      `refusing ${dir}/huge.crt: it is larger than 262144 bytes`,
    );
    expect((await certDaysLeft(spec(path.join(dir, 'fifo.crt')), managed)).certError).toBe(
      `refusing ${dir}/fifo.crt: it is not a regular file`,
    );
    expect((await certDaysLeft(spec(path.join(dir, 'junk.crt')), managed)).certError).toBe(
      `${dir}/junk.crt is not a readable PEM certificate`,
    );
    expect((await certDaysLeft(spec('/usr/share/ca.crt'), managed)).certError).toMatch(/outside the managed paths/);
  });

  it('a target saved with another program is not an unexpected restart', async () => {
    await run('supervisorctl', ['-c', sup.config, 'start', 'idle']);
    const idlePid = Number((await run('supervisorctl', ['-c', sup.config, 'pid', 'idle'])).stdout.trim());
    const put = await api(h, admin, 'PUT', '/api/targets/web', {
      manager: 'supervisor',
      program: 'idle',
      configPath: sup.config,
    });
    expect(put.status).toBe(200);
    await eventually(async () => (await statusOf(h, 'web'))?.pid === idlePid, 15_000, 'web to name the idle program');
    await anotherSample(h, 'web');
    expect(await restartRows(h, 'web')).toHaveLength(1);
  });
});

describe('status publisher: one worker per host publishes, and another takes over when it dies', () => {
  let h: Harness;
  let logDir: string;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    h = await harness();
    logDir = scratchDir('status-workers');
  });
  afterAll(async () => {
    for (const w of workers) await stopChild(w, 'SIGKILL').catch(() => {});
    await h?.close();
    if (logDir) fs.rmSync(logDir, { recursive: true, force: true });
  });

  it('the lock holder publishes; after it is killed, the other worker does', async () => {
    const pool = h.database.db.$client;
    // Every write to host_status, by whom: two publishers would both show up here.
    await pool.query(`
      CREATE TABLE status_writes (worker text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
      CREATE FUNCTION note_status_write() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN INSERT INTO status_writes (worker) VALUES (NEW.worker); RETURN NEW; END $$;
      CREATE TRIGGER status_writes AFTER INSERT OR UPDATE ON host_status
        FOR EACH ROW EXECUTE FUNCTION note_status_write();`);
    const writers = async () =>
      (await pool.query('SELECT worker, count(*)::int AS n FROM status_writes GROUP BY worker')).rows as {
        worker: string;
        n: number;
      }[];
    const env = { DECKHAND_STATUS_INTERVAL_MS: INTERVAL, LOG_LEVEL: 'info' };
    const logs = [0, 1].map((i) => path.join(logDir, `worker-${i}.log`));
    for (const log of logs) workers.push(spawnWorker(h, env, fs.openSync(log, 'a')));
    const pidOf = (worker: string) => Number(worker.split(':')[1]);
    // Both workers up, then ten more samples: all from one of them.
    await eventually(
      async () => logs.every((l) => fs.readFileSync(l, 'utf8').includes('worker ready')),
      60_000,
      'both workers',
    );
    const total = async () => (await writers()).reduce((sum, x) => sum + x.n, 0);
    const before = await total();
    await eventually(async () => (await total()) >= before + 10, 30_000, 'ten more samples');
    const many = await writers();
    expect(many).toHaveLength(1);
    const leader = workers.find((w) => w.pid === pidOf(many[0]!.worker))!;
    expect(leader).toBeDefined();
    await stopChild(leader, 'SIGKILL');
    const other = workers.find((w) => w !== leader)!;
    await eventually(
      async () => (await writers()).some((w) => pidOf(w.worker) === other.pid),
      30_000,
      'the other worker to take over',
    );
  });
});
