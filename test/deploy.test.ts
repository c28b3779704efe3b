import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  type BackendName,
  eventually,
  type Harness,
  harness,
  sleep,
  spawnWorker,
  type TestUser,
  waitForStatus,
} from './support/app.ts';
import { type AppRepo, appTargetSpec, getText, makeAppRepo, startIncludingSupervisord } from './support/deploy-app.ts';
import { stopChild } from './support/process.ts';
import { scratchDir } from './support/services.ts';

const run = promisify(execFile);
/** A value no part of Deckhand should ever write down, except the service's environment file. */
const SECRET = 'S3cr3t-"quoted" 100%,a=b\\z';
/** The part of it that no quoting or escaping (JSON, COPY, supervisor's %%) can change. */
const SECRET_MARK = 'S3cr3t-';

describe.each<BackendName>(['redis', 'postgres'])(
  'deploy jobs with real git, a real supervisor program and health-gated rollback (BullMQ on %s)',
  (backend) => {
    let h: Harness;
    let admin: TestUser;
    let dir: string;
    let repo: AppRepo;
    let sup: Awaited<ReturnType<typeof startIncludingSupervisord>>;
    let port: number;
    let worker: ChildProcess;
    let workerLog: string;
    const releases = () => path.join(dir, 'srv', 'releases');
    const current = () => fs.readlinkSync(path.join(dir, 'srv', 'current'));
    const deploy = (body: object) => api(h, admin, 'POST', '/api/jobs', { kind: 'deploy', target: 'app', ...body });
    async function deployed(body: object, status = 'succeeded') {
      const res = await deploy(body);
      expect(res.status, res.text).toBe(202);
      const job = await waitForStatus(h, admin, res.json.id, ['succeeded', 'failed', 'cancelled', 'lost'], 60_000);
      expect(job.status, JSON.stringify(job)).toBe(status);
      return job;
    }
    const startWorker = () =>
      spawnWorker(
        h,
        { LOG_LEVEL: 'trace', DECKHAND_LEASE_MS: '3000', DECKHAND_QUEUE_LOCK_MS: '3000' },
        fs.openSync(workerLog, 'a'),
      );
    const releaseOf = (sha: string) => fs.readdirSync(releases()).find((r) => r.endsWith(`-${sha.slice(0, 7)}`));
    const output = async (id: string) =>
      (await api(h, admin, 'GET', `/api/jobs/${id}/output`)).json.chunks.map((c: { text: string }) => c.text).join('');

    let server: ServerType;
    /** The real CLI, over HTTP, as the admin. */
    function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return new Promise((resolve) => {
        execFile(
          process.execPath,
          ['server/cli/deckhand.mjs', ...args],
          {
            cwd: path.resolve(import.meta.dirname, '..'),
            env: { PATH: process.env.PATH, DECKHAND_URL: url, DECKHAND_TOKEN: admin.token },
          },
          (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
        );
      });
    }

    beforeAll(async () => {
      h = await harness({ backend });
      admin = await h.user('admin');
      server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
      await new Promise((r) => server.once('listening', r));
      dir = scratchDir('deploy');
      repo = await makeAppRepo(dir);
      sup = await startIncludingSupervisord(dir);
      const target = await appTargetSpec(dir, repo, sup);
      port = target.port;
      const put = await api(h, admin, 'PUT', '/api/targets/app', { ...target.spec, env: { APP_SECRET: SECRET } });
      expect(put.status, put.text).toBe(201);
      // A real worker process, logging everything, into a file the leak test reads.
      workerLog = path.join(dir, 'worker.log');
      worker = startWorker();
    });
    afterAll(async () => {
      if (worker) await stopChild(worker);
      await sup?.stop();
      await new Promise((r) => server?.close(r));
      await h.close();
    });

    it('deploys commit 1: it serves version 1 from releases/<timestamp>-<sha7>, with its secret in its environment', async () => {
      const job = await deployed({ ref: repo.sha.v1 });
      expect(await getText(port)).toBe('version 1');
      expect(await getText(port, '/secret-length')).toBe(String(SECRET.length));
      expect(current()).toMatch(new RegExp(`^releases/\\d{14}-${repo.sha.v1.slice(0, 7)}$`));
      expect(job.result).toMatchObject({ sha: repo.sha.v1, previousRelease: null });
      const steps = (await api(h, admin, 'GET', `/api/jobs/${job.id}/events`)).json.items
        .filter((e: { type: string }) => e.type === 'progress')
        .map((e: { data: { step: string } }) => e.data.step.split(/[: ]/)[0]);
      expect(steps).toEqual(
        expect.arrayContaining(['resolving', 'checking', 'install', 'migrate', 'switching', 'restarting', 'health']),
      );
      const text = await output(job.id);
      expect(text).toContain('installing; APP_SECRET is [secret]');
      expect(fs.statSync(sup.programFile).mode & 0o777).toBe(0o600);
    });

    it('deploys commit 2 by tag: version 2 is served, and the deployment history lists both with who, ref and sha', async () => {
      const first = current();
      const job = await deployed({ ref: 'v2' });
      expect(await getText(port)).toBe('version 2');
      expect(job.result).toMatchObject({ sha: repo.sha.v2, previousRelease: path.basename(first) });
      const list = await api(h, admin, 'GET', '/api/targets/app/deployments');
      expect(list.status).toBe(200);
      expect(list.json.items.slice(0, 2)).toMatchObject([
        {
          ref: 'v2',
          sha: repo.sha.v2,
          status: 'succeeded',
          phase: 'live',
          requestedBy: admin.username,
          rolledBackTo: null,
        },
        { ref: repo.sha.v1, sha: repo.sha.v1, status: 'succeeded', phase: 'live', requestedBy: admin.username },
      ]);
      expect(list.json.items[0].durationMs).toBeGreaterThan(0);
      const page = await h.app.request('/deployments?target=app', { headers: { Cookie: admin.cookie } });
      const html = await page.text();
      expect(page.status).toBe(200);
      for (const sha of [repo.sha.v1, repo.sha.v2]) expect(html).toContain(`<code>${sha.slice(0, 7)}</code>`);
      expect(html).toContain(`href="/jobs/${job.id}"`);
      expect(html).toContain(admin.username);
    });

    it('a release whose health route fails is switched back automatically: version 2 is still served', async () => {
      const live = current();
      const job = await deployed({ ref: 'bad-health' }, 'failed');
      expect(job.error).toContain('health check failed');
      expect(job.error).toContain(`rolled back to ${path.basename(live)}`);
      expect(current()).toBe(live);
      expect(await getText(port)).toBe('version 2');
      expect(releaseOf(repo.sha.badHealth)).toBeUndefined(); // never offered again
      const [row] = (await api(h, admin, 'GET', '/api/targets/app/deployments')).json.items;
      expect(row).toMatchObject({ jobId: job.id, phase: 'rolled-back', rolledBackTo: path.basename(live) });
    });

    it('a failing install step leaves current untouched and removes the half-built release', async () => {
      const live = current();
      const job = await deployed({ ref: 'bad-install' }, 'failed');
      expect(job.error).toMatch(/install failed: .*python3 exited with 3; the live release is untouched/);
      expect(await output(job.id)).toContain('install: dependency not found');
      expect(current()).toBe(live);
      expect(releaseOf(repo.sha.badInstall)).toBeUndefined();
      expect(await getText(port)).toBe('version 2');
    });

    it('a deploy lost to a worker crash stays lost, and its half-made release is removed by the next deploy', async () => {
      const live = current();
      const res = await deploy({ ref: 'slow-install' });
      await waitForStatus(h, admin, res.json.id, ['active'], 30_000);
      await eventually(async () => (await output(res.json.id)).includes('installing slowly'), 30_000, 'install');
      worker.kill('SIGKILL');
      await new Promise((r) => worker.once('exit', r));
      worker = startWorker();
      const lost = await waitForStatus(h, admin, res.json.id, ['lost', 'succeeded', 'failed'], 30_000);
      expect(lost).toMatchObject({ status: 'lost', attempt: 1 });
      expect(releaseOf(repo.sha.slowInstall)).toBeDefined(); // half-made, and never live
      expect(current()).toBe(live);
      const releasesApi = (await api(h, admin, 'GET', '/api/targets/app/releases')).json.items;
      expect(releasesApi.map((r: { release: string }) => r.release)).not.toContain(releaseOf(repo.sha.slowInstall));
      await sleep(4000); // past BullMQ's stalled check: still lost, never attempted again
      expect((await api(h, admin, 'GET', `/api/jobs/${res.json.id}`)).json).toMatchObject({
        status: 'lost',
        attempt: 1,
      });
      const next = await deployed({ ref: 'v2' });
      expect(await output(next.id)).toContain(`left half-made by job ${res.json.id}`);
      expect(releaseOf(repo.sha.slowInstall)).toBeUndefined();
    });

    it('cancelling a deploy mid-install stops the install, removes the new release and leaves current alone', async () => {
      const live = current();
      const res = await deploy({ ref: 'slow-install' });
      await eventually(async () => (await output(res.json.id)).includes('installing slowly'), 30_000, 'install');
      expect((await api(h, admin, 'POST', `/api/jobs/${res.json.id}/cancel`)).status).toBe(202);
      const job = await waitForStatus(h, admin, res.json.id, ['cancelled', 'failed', 'succeeded'], 30_000);
      expect(job.status).toBe('cancelled');
      expect(current()).toBe(live);
      expect(releaseOf(repo.sha.slowInstall)).toBeUndefined();
      const [row] = (await api(h, admin, 'GET', '/api/targets/app/deployments')).json.items;
      expect(row).toMatchObject({ jobId: job.id, status: 'cancelled', phase: 'failed' });
    });

    it('cancelling a deploy after its switch still puts the previous release back before it ends', async () => {
      const live = current();
      const res = await deploy({ ref: 'bad-health' });
      await eventually(
        async () => (await api(h, admin, 'GET', `/api/jobs/${res.json.id}`)).json.step?.startsWith('health check'),
        30_000,
        'the health check step',
      );
      expect((await api(h, admin, 'POST', `/api/jobs/${res.json.id}/cancel`)).status).toBe(202);
      const job = await waitForStatus(h, admin, res.json.id, ['cancelled', 'failed', 'succeeded'], 30_000);
      expect(job.status).toBe('cancelled');
      expect(current()).toBe(live);
      expect(await getText(port)).toBe('version 2');
      const [row] = (await api(h, admin, 'GET', '/api/targets/app/deployments')).json.items;
      expect(row).toMatchObject({ jobId: job.id, phase: 'rolled-back', rolledBackTo: path.basename(live) });
    });

    it('rolls back to commit 1 without install, after warning that a migration ran since', async () => {
      const v1 = releaseOf(repo.sha.v1)!;
      const refused = await api(h, admin, 'POST', '/api/targets/app/rollback', { release: v1 });
      expect(refused.status).toBe(409);
      expect(refused.json.error.code).toBe('migrations_since');
      expect(refused.json.error.message).toContain(`migrations ran since ${v1}`);
      // The CLI says the same, and goes ahead with --yes.
      const warned = await cli(['rollback', 'app', '--to', v1]);
      expect(warned.code).toBe(1);
      expect(warned.stderr).toContain(`migrations ran since ${v1}`);
      expect(warned.stderr).toContain('re-run with --yes to roll back anyway');
      const rolled = await cli(['rollback', 'app', '--to', v1, '--yes', '--wait']);
      expect(rolled.code, rolled.stderr).toBe(0);
      const id = rolled.stdout.split(' ')[0]!;
      const job = (await api(h, admin, 'GET', `/api/jobs/${id}`)).json;
      expect(job.status, job.error).toBe('succeeded');
      expect(current()).toBe(`releases/${v1}`);
      expect(await getText(port)).toBe('version 1');
      const text = await output(job.id);
      expect(text).toContain('no fetch, install, build or migrate');
      expect(text).not.toContain('installing');
      const [row] = (await api(h, admin, 'GET', '/api/targets/app/deployments')).json.items;
      expect(row).toMatchObject({ jobId: job.id, isRollback: true, release: v1, sha: repo.sha.v1, phase: 'live' });
      const listed = await cli(['deployments', 'app']);
      expect(listed.stdout.split('\n')[0]).toMatch(
        new RegExp(`succeeded +rollback to ${v1} +${repo.sha.v1.slice(0, 7)} +${admin.username}`),
      );
    });

    it('two deploys of one target never overlap: the second waits for the per-target lock', async () => {
      const [a, b] = await Promise.all([deploy({ ref: 'v2' }), deploy({ ref: 'v1' })]);
      const jobs = await Promise.all(
        [a, b].map((r) => waitForStatus(h, admin, r.json.id, ['succeeded', 'failed'], 90_000)),
      );
      expect(jobs.map((j) => j.status)).toEqual(['succeeded', 'succeeded']);
      const [first, second] = jobs.sort((x, y) => Date.parse(x.startedAt) - Date.parse(y.startedAt));
      expect(Date.parse(second!.startedAt)).toBeGreaterThanOrEqual(Date.parse(first!.finishedAt));
      const events = (await api(h, admin, 'GET', `/api/jobs/${second!.id}/events`)).json.items;
      expect(events.some((e: { data: { status?: string } }) => e.data.status === 'waiting')).toBe(true);
    });

    it('prunes releases beyond the keep count, never the current one nor the one before it', async () => {
      const names = fs.readdirSync(releases()).filter((n) => /^\d{14}-[0-9a-f]{7}$/.test(n));
      expect(names.length).toBeLessThanOrEqual(3);
      // The deploy that made `current` live, not the newest by submission: two deploys submitted together
      // may take the target's lock in either order.
      const live = path.basename(current());
      const items = (await api(h, admin, 'GET', '/api/targets/app/deployments')).json.items;
      const liveDeploy = items.find((d: { release: string | null }) => d.release === live);
      expect(names).toContain(live);
      expect(names).toContain(liveDeploy.previousRelease);
    });

    it('refuses bad deploy requests and target settings with a clear 400 or 403, and queues nothing', async () => {
      const viewer = await h.user('viewer');
      const before = (await api(h, admin, 'GET', '/api/jobs?kind=deploy&limit=100')).json.items.length;
      const put = (name: string, spec: object) => api(h, admin, 'PUT', `/api/targets/${name}`, spec);
      expect(
        (await put('plain', { manager: 'signal', pidfile: `${dir}/x.pid`, match: { cmdline: 'app' } })).status,
      ).toBe(201);
      const cases: [object, RegExp][] = [
        [{ target: 'plain' }, /plain has no deploy settings/],
        [{ ref: '--upload-pack=touch /tmp/pwned' }, /invalid deploy request/],
        [{ ref: 'v1', release: '20260101000000-aaaaaaa' }, /invalid deploy request/],
        [{ release: '20260101000000-aaaaaaa' }, /not a release of app that was live/],
      ];
      for (const [body, message] of cases) {
        const res = await deploy(body);
        expect(res.status, res.text).toBe(400);
        expect(res.json.error.message).toMatch(message);
      }
      const signalDeploy = await put('bad', {
        manager: 'signal',
        pidfile: `${dir}/x.pid`,
        match: { cmdline: 'app' },
        deploy: {
          repo: repo.path,
          releasesDir: `${dir}/b/releases`,
          programFile: `${dir}/p.conf`,
          healthUrl: 'http://127.0.0.1:1/',
        },
      });
      expect(signalDeploy.status).toBe(400);
      expect(signalDeploy.json.error.details.fieldErrors['deploy.programFile']).toEqual([
        'only for supervisor targets',
      ]);
      const outside = await put('bad', {
        manager: 'signal',
        pidfile: `${dir}/x.pid`,
        match: { cmdline: 'app' },
        deploy: { repo: repo.path, releasesDir: '/var/lib/elsewhere/releases', healthUrl: 'http://127.0.0.1:1/' },
      });
      expect(outside.status).toBe(400);
      expect(Object.keys(outside.json.error.details.fieldErrors)).toEqual(['deploy.releasesDir']);
      const spec = (await api(h, admin, 'GET', '/api/targets/app')).json;
      const quotes = await put('app2', {
        ...spec,
        name: undefined,
        lock: undefined,
        lastJob: undefined,
        updatedAt: undefined,
        env: { K: `a " and ' b` },
      });
      expect(quotes.status, quotes.text).toBe(400);
      expect(quotes.json.error.message).toContain("K cannot be written to supervisor's environment=");
      expect((await api(h, viewer, 'POST', '/api/targets/app/rollback', {})).status).toBe(403);
      expect((await api(h, viewer, 'POST', '/api/jobs', { kind: 'deploy', target: 'app' })).status).toBe(403);
      expect((await api(h, admin, 'GET', '/api/jobs?kind=deploy&limit=100')).json.items.length).toBe(before);
    });

    it('the secret is written to the service environment file only: not to output, logs, audit rows or the database', async () => {
      const holders: string[] = [];
      const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (e.isFile() && fs.readFileSync(p, 'utf8').includes(SECRET_MARK)) holders.push(p);
        }
      };
      walk(dir); // releases, the git mirror, supervisord's log and the worker's trace-level log
      expect(holders).toEqual([sup.programFile]);
      expect(fs.readFileSync(workerLog, 'utf8').length).toBeGreaterThan(0);
      const { stdout: dump } = await run('pg_dump', ['--data-only', h.database.url], { maxBuffer: 64 * 1024 * 1024 });
      expect(dump).toContain('installing; APP_SECRET is [secret]');
      expect(dump).not.toContain(SECRET_MARK);
    });
  },
);
