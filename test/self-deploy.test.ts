import { type ChildProcess, execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../server/auth/accounts.ts';
import { api, eventually, type Harness, harness, spawnWebTier, type TestUser, waitForStatus } from './support/app.ts';
import { answerConfirm, artifacts, launchChromium, PASSWORD, signIn } from './support/browser.ts';
import { freePort, stopChild } from './support/process.ts';
import { scratchDir } from './support/services.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');

/** GET /healthz on a fresh connection: the release the answering web process runs, or the error. */
function healthz(port: number): Promise<{ pid: number; release: string | null } | Error> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve(res.statusCode === 200 ? JSON.parse(body) : new Error(`status ${res.statusCode}`)));
      })
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(new Error('timed out'));
      })
      .on('error', resolve);
  });
}

/**
 * Asks /healthz on fresh connections until `count` distinct web processes have answered, and returns their
 * pids; throws if one of them runs another release than `release`.
 */
async function healthPids(port: number, count: number, release: string): Promise<number[]> {
  const pids = new Set<number>();
  return eventually(
    async () => {
      for (const r of await Promise.all(Array.from({ length: 8 }, () => healthz(port)))) {
        if (r instanceof Error) continue;
        if (r.release !== release) throw new Error(`web process ${r.pid} runs ${r.release}, not ${release}`);
        pids.add(r.pid);
      }
      return pids.size >= count ? [...pids] : null;
    },
    30_000,
    `${count} web processes on ${release}`,
  );
}

/** A git repository of this working tree (tracked and new files), so the deploy ships the code under test. */
async function repoOfWorkingTree(dir: string) {
  const repo = path.join(dir, 'repo');
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root });
  for (const f of stdout.split('\0').filter((f) => f && fs.existsSync(path.join(root, f)))) {
    fs.mkdirSync(path.dirname(path.join(repo, f)), { recursive: true });
    fs.copyFileSync(path.join(root, f), path.join(repo, f));
  }
  const git = async (...args: string[]) =>
    (await run('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.com', ...args], { cwd: repo })).stdout.trim();
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'release 1');
  const first = await git('rev-parse', 'HEAD');
  await git('commit', '-q', '--allow-empty', '-m', 'release 2');
  return { repo, first, second: await git('rev-parse', 'HEAD') };
}

describe('deploying Deckhand itself (target self) onto a running, clustered web tier', () => {
  let h: Harness;
  let admin: TestUser;
  let web: ChildProcess;
  let port: number;
  let dir: string;
  let first: string;
  let second: string;
  const release1 = (sha: string) => `20260101000000-${sha.slice(0, 7)}`;

  beforeAll(async () => {
    h = await harness();
    admin = await h.user('admin');
    await h.startWorker();
    dir = scratchDir('self');
    const built = await repoOfWorkingTree(dir);
    first = built.first;
    second = built.second;
    // Release 1 as an install would leave it: a checkout under releases/, named by `current`.
    const r1 = path.join(dir, 'releases', release1(built.first));
    await run('git', ['clone', '-q', built.repo, r1]);
    fs.rmSync(path.join(r1, '.git'), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(r1, 'node_modules'));
    await run(process.execPath, ['build/app.mjs'], { cwd: r1 }); // as an install builds it: the units run dist/
    fs.symlinkSync(`releases/${release1(built.first)}`, path.join(dir, 'current'));
    port = await freePort();
    web = spawnWebTier(h, { appDir: path.join(dir, 'current'), port, logFile: path.join(dir, 'web.log') });
    await eventually(
      async () => {
        const r = await healthz(port);
        return !(r instanceof Error) && r.release === release1(built.first);
      },
      30_000,
      'the web tier on release 1',
    );
    // As the README's example: no DATABASE_URL of its own; migrate gets Deckhand's.
    const put = await api(h, admin, 'PUT', '/api/targets/deckhand', {
      manager: 'self',
      deploy: {
        repo: built.repo,
        releasesDir: path.join(dir, 'releases'),
        install: ['ln', '-s', path.join(root, 'node_modules'), 'node_modules'],
        build: [process.execPath, 'build/app.mjs'],
        migrate: [process.execPath, 'server/cli/deckhand.mjs', 'migrate'],
        healthUrl: `http://127.0.0.1:${port}/readyz`,
      },
    });
    expect(put.status, put.text).toBe(201);
  });
  afterAll(async () => {
    if (web) await stopChild(web);
    await h.close();
  });

  it('started as the unit starts it (cwd the `current` symlink, entry dist/server/main.js), the web tier runs release 1', async () => {
    expect(fs.realpathSync(`/proc/${web.pid}/cwd`)).toBe(path.join(dir, 'releases', release1(first)));
    expect(await healthPids(port, 2, release1(first))).toHaveLength(2);
  });

  it('builds the new release, migrates, restarts the web tier onto it, and drops no request meanwhile', async () => {
    let stop = false;
    const failures: string[] = [];
    let answered = 0;
    const client = (async () => {
      while (!stop) {
        const r = await healthz(port);
        if (r instanceof Error) failures.push(r.message);
        else answered++;
      }
    })();
    const res = await api(h, admin, 'POST', '/api/jobs', { kind: 'deploy', target: 'deckhand', ref: second });
    expect(res.status, res.text).toBe(202);
    const job = await waitForStatus(h, admin, res.json.id, ['succeeded', 'failed', 'lost'], 120_000);
    stop = true;
    await client;
    expect(job.status, job.error).toBe('succeeded');
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(20);
    const served = await Promise.all(Array.from({ length: 10 }, () => healthz(port)));
    expect(served.map((r) => (r instanceof Error ? r.message : r.release))).toEqual(Array(10).fill(job.result.release));
    // Every web process the restart started, not just whichever answered: each runs the new release.
    const restarted = (await api(h, admin, 'GET', '/api/system/restart')).json;
    expect((await healthPids(port, 2, job.result.release)).sort()).toEqual([...restarted.pids].sort());
    // Pages render on the new release too (its own tsconfig: JSX), not just the JSON health route.
    const login = await fetch(`http://127.0.0.1:${port}/login`);
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('Sign in');
    const restart = (await api(h, admin, 'GET', '/api/system/restart')).json;
    expect(restart).toMatchObject({ state: 'done', by: `deploy ${job.id}` });
    const output = (await api(h, admin, 'GET', `/api/jobs/${job.id}/output`)).json.chunks
      .map((c: { text: string }) => c.text)
      .join('');
    expect(output).toContain('asked the worker processes to restart');
    expect(output).toContain('database is up to date'); // what `deckhand migrate` prints once it ran
    expect(output).not.toContain(h.database.url); // Deckhand's own DATABASE_URL, handed to migrate, is a secret
  });

  it('"Restart Deckhand" (the settings API) is rolling too: no request dropped, everyone signed out once', async () => {
    const before = (await api(h, admin, 'GET', '/api/system/restart')).json;
    await h.user('viewer'); // someone with a session to sign out
    let stop = false;
    const failures: string[] = [];
    const client = (async () => {
      while (!stop) {
        const r = await healthz(port);
        if (r instanceof Error) failures.push(r.message);
      }
    })();
    const asked = await fetch(`http://127.0.0.1:${port}/api/system/restart`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin.token}` },
    });
    expect(asked.status).toBe(202);
    const done = await eventually(
      async () => {
        const s = (await api(h, admin, 'GET', '/api/system/restart')).json;
        return s.state === 'done' && s.startedAt !== before.startedAt && s;
      },
      60_000,
      'the rolling restart',
    );
    stop = true;
    await client;
    expect(failures).toEqual([]);
    expect(done.by).toBe(admin.username);
    expect(done.signedOut).toBeGreaterThanOrEqual(1);
    expect(done.pids).toHaveLength(2);
    expect(done.pids.some((p: number) => before.pids.includes(p))).toBe(false);
    const sessions = await h.database.db.$client.query('SELECT count(*)::int AS n FROM sessions');
    expect(sessions.rows[0].n).toBe(0);
    // Neither the deploy's restart nor this one was a cold start: only the tier's first start signed out as one.
    const coldStarts = await h.database.db.$client.query(
      "SELECT 1 FROM audit_log WHERE action = 'deckhand.cold_start'",
    );
    expect(coldStarts.rowCount).toBe(1);
  });

  it('the settings page restarts Deckhand after a warning, shows it restarting, then sends the admin to login', async () => {
    await createUser(h.database.db, 'chief', 'admin', PASSWORD);
    const browser = await launchChromium();
    try {
      const base = `http://127.0.0.1:${port}`;
      const page = await signIn(browser, base, 'chief');
      await page.goto(`${base}/settings`);
      const before = (await api(h, admin, 'GET', '/api/system/restart')).json;
      await page.click('#restart-card button:has-text("Restart Deckhand")');
      // The dialog's Restart button stays disabled until the word is typed exactly.
      const ok = page.locator('dialog#confirm-dialog[open] #confirm-ok');
      await page.fill('dialog#confirm-dialog input[name=typed]', 'restar');
      expect(await ok.isDisabled()).toBe(true);
      const asked = await answerConfirm(page, 'confirm', 'restart');
      expect(asked).toMatchObject({ action: 'Restart Deckhand', danger: true });
      expect(asked.message).toMatch(/Everyone, you included, will be signed out\. It takes a few seconds/);
      await page.waitForSelector('#restart-status[data-state=restarting]');
      expect(await page.textContent('#restart-status')).toContain('Restarting the web tier');
      await page.waitForURL(`${base}/login?reason=restarted`, { timeout: 60_000 });
      expect(await page.textContent('#signed-out')).toContain('Deckhand was restarted, which signs everyone out.');
      const after = (await api(h, admin, 'GET', '/api/system/restart')).json;
      expect(after).toMatchObject({ state: 'done', by: 'chief' });
      expect(after.startedAt).not.toBe(before.startedAt);
      await page.screenshot({ path: path.join(artifacts, 'restart-to-login.png') });
    } finally {
      await browser.close();
    }
  });

  it('a viewer gets 403 from the restart API and never sees the card', async () => {
    const viewer = await h.user('viewer');
    const asked = await fetch(`http://127.0.0.1:${port}/api/system/restart`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${viewer.token}` },
    });
    expect(asked.status).toBe(403);
    const page = await fetch(`http://127.0.0.1:${port}/settings`, { headers: { Cookie: viewer.cookie } });
    expect(page.status).toBe(403);
    expect(await page.text()).not.toContain('Restart Deckhand');
  });
});
