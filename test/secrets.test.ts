import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobHandler } from '../worker/kinds/handler.ts';
import { shippedHandlers } from '../worker/kinds/index.ts';
import leak, { SECRET } from './fixtures/leak/kind.ts';
import { api, type Harness, harness, type TestUser, waitForStatus } from './support/app.ts';
import { type AppRepo, appTargetSpec, makeAppRepo, startIncludingSupervisord } from './support/deploy-app.ts';
import { stopChild } from './support/process.ts';
import { scratchDir } from './support/services.ts';

const run = promisify(execFile);

/**
 * Each half of the secret on its own: a secret written in two pieces could
 * otherwise be stored in two places, neither of which holds the whole. The URL
 * form is how the credential is written inside the repository URL.
 */
const HALF = Math.floor(SECRET.length / 2);
const MARKS = [SECRET.slice(0, HALF), SECRET.slice(HALF), SECRET.slice(HALF).replaceAll('%', '%25')];
const URL_SECRET = SECRET.replaceAll('%', '%25');

function expectNoSecret(where: string, text: string) {
  for (const mark of MARKS) expect(text.includes(mark), `${where} holds "${mark}"`).toBe(false);
}

/** Command lines of every process on the host that show a piece of the secret (any local user can read them). */
function commandLinesWithSecret(): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (MARKS.some((m) => cmdline.includes(m))) found.push(cmdline);
    } catch {
      // the process has gone
    }
  }
  return found;
}

/**
 * A git repository over HTTP (git's "dumb" protocol: plain files) that answers only
 * with Basic auth as deckhand and the secret, so a deploy that fetches from it proves
 * the worker handed the sealed credential to git. While git waits for each answer,
 * the server looks at every command line on the host for the secret.
 */
async function serveRepoWithAuth(bareDir: string) {
  const expected = `Basic ${Buffer.from(`deckhand:${SECRET}`).toString('base64')}`;
  const seen = { authorized: 0, requests: 0, commandLines: [] as string[] };
  const server = http.createServer((req, res) => {
    seen.requests += 1;
    seen.commandLines.push(...commandLinesWithSecret());
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
      return;
    }
    seen.authorized += 1;
    const rel = path
      .normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))
      .replace(/^\/repo\.git/, '');
    fs.readFile(path.join(bareDir, rel), (err, data) => {
      if (err) res.writeHead(404).end();
      else res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(data);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, seen, port: (server.address() as AddressInfo).port };
}

describe('a secret never leaves the vault: env secret and repository credential, through every way a job prints', () => {
  let h: Harness;
  let admin: TestUser;
  let dir: string;
  let repo: AppRepo;
  let sup: Awaited<ReturnType<typeof startIncludingSupervisord>>;
  let git: Awaited<ReturnType<typeof serveRepoWithAuth>>;
  let worker: ChildProcess;
  let workerLog: string;
  let repoUrl: string;
  let spec: Record<string, any>;
  const jobIds: string[] = [];

  async function finished(body: object, status: string) {
    const res = await api(h, admin, 'POST', '/api/jobs', body);
    expect(res.status, res.text).toBe(202);
    jobIds.push(res.json.id);
    const job = await waitForStatus(h, admin, res.json.id, ['succeeded', 'failed', 'cancelled', 'lost'], 90_000);
    expect(job.status, JSON.stringify(job)).toBe(status);
    return job;
  }
  type Chunk = { stream: string; text: string };
  const output = async (id: string, stream: string) =>
    (await api(h, admin, 'GET', `/api/jobs/${id}/output`)).json.chunks
      .filter((c: Chunk) => c.stream === stream)
      .map((c: Chunk) => c.text)
      .join('');
  const page = async (url: string) => {
    const res = await h.app.request(url, { headers: { Cookie: admin.cookie } });
    expect(res.status, url).toBe(200);
    return res.text();
  };

  beforeAll(async () => {
    h = await harness({
      backend: 'postgres',
      registry: new Map([...shippedHandlers, ['leak', leak as JobHandler<unknown>]]),
    });
    admin = await h.user('admin');
    dir = scratchDir('secrets');
    repo = await makeAppRepo(dir);
    // One more commit whose install step prints the secret every way it can.
    fs.copyFileSync(path.join(import.meta.dirname, 'fixtures/leak/leak.py'), path.join(repo.path, 'leak.py'));
    const g = (...args: string[]) =>
      run('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd: repo.path });
    await g('add', 'leak.py');
    await g('commit', '-q', '-m', 'leaky install');
    await g('tag', 'leaky');
    const bare = path.join(dir, 'served', 'repo.git');
    await run('git', ['clone', '-q', '--bare', repo.path, bare]);
    await run('git', [`--git-dir=${bare}`, 'update-server-info']);
    git = await serveRepoWithAuth(bare);
    repoUrl = `http://deckhand:${URL_SECRET}@127.0.0.1:${git.port}/repo.git`;

    sup = await startIncludingSupervisord(dir);
    const target = await appTargetSpec(dir, repo, sup);
    const { migrate: _, ...deploy } = target.spec.deploy;
    spec = { ...target.spec, deploy: { ...deploy, repo: repoUrl, install: ['/usr/bin/python3', 'leak.py'] } };

    workerLog = path.join(dir, 'worker.log');
    worker = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/leak/worker.ts'], {
      cwd: path.resolve(import.meta.dirname, '..'),
      stdio: ['ignore', fs.openSync(workerLog, 'a'), fs.openSync(workerLog, 'a')],
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: h.database.url,
        DECKHAND_QUEUE: h.queue.name,
        DECKHAND_SECRET_KEY: h.config.DECKHAND_SECRET_KEY,
        DECKHAND_MANAGED_PATHS: h.config.DECKHAND_MANAGED_PATHS.join(':'),
        DECKHAND_DATA_DIR: path.join(dir, 'data'),
        DECKHAND_LEASE_MS: '3000',
        DECKHAND_QUEUE_LOCK_MS: '3000',
        LOG_LEVEL: 'trace',
      },
    });
  });
  afterAll(async () => {
    if (worker) await stopChild(worker);
    await sup?.stop();
    await new Promise((r) => git?.server.close(r));
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a repository URL is stored and shown masked, and saving the masked URL keeps its credential', async () => {
    const masked = `http://deckhand:***@127.0.0.1:${git.port}/repo.git`;
    const put = await api(h, admin, 'PUT', '/api/targets/app', { ...spec, env: { APP_SECRET: SECRET } });
    expect(put.status, put.text).toBe(201);
    expect(put.json.deploy.repo).toBe(masked);
    expect(put.json.env).toEqual({ APP_SECRET: '[secret]' });
    const again = await api(h, admin, 'PUT', '/api/targets/app', { ...spec, deploy: { ...spec.deploy, repo: masked } });
    expect(again.status, again.text).toBe(200);
    // The masked form never carries the credential to another host.
    const elsewhere = { ...spec, deploy: { ...spec.deploy, repo: 'http://deckhand:***@127.0.0.2:9/repo.git' } };
    const moved = await api(h, admin, 'PUT', '/api/targets/app', elsewhere);
    expect(moved.status, moved.text).toBe(400);
    expect(moved.json.error.details.fieldErrors['deploy.repo']).toBeDefined();
  });

  it('a deploy fetches with the real credential, hands the secret (with its %( ) to supervisor intact, and redacts every line', async () => {
    const job = await finished({ kind: 'deploy', target: 'app', ref: 'leaky' }, 'succeeded');
    expect(git.seen.authorized).toBeGreaterThan(0);
    expect(git.seen.commandLines).toEqual([]); // git had the credential, yet no command line showed it
    const pid = (await run('supervisorctl', ['-c', sup.config, 'pid', 'app'])).stdout.trim();
    const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain(`APP_SECRET=${SECRET}`);
    const out = await output(job.id, 'stdout');
    const err = await output(job.id, 'stderr');
    expect(out).toContain('stdout says [secret]\nsplit: [secret] end of split\n');
    expect(err).toContain('stderr says [secret]\nsplit: [secret] end of split\n');
    const events = (await api(h, admin, 'GET', `/api/jobs/${job.id}/events`)).json.items;
    expect(events.map((e: { data: { step?: string } }) => e.data.step)).toContain('installing with [secret]');
  });

  it("a failed deploy's error names the repository without its credential", async () => {
    const job = await finished({ kind: 'deploy', target: 'app', ref: 'no-such-ref' }, 'failed');
    expect(job.error).toContain(`no-such-ref is not a branch, tag or commit of http://127.0.0.1:${git.port}/repo.git`);
  });

  it("a job's result and its error (built from what a process printed, retried once) are redacted", async () => {
    const ok = await finished({ kind: 'leak', outcome: 'result' }, 'succeeded');
    expect(ok.result.printed).toContain('stdout says [secret]');
    expect(await output(ok.id, 'stdout')).toContain('handler says [secret]\nstdout says [secret]\nsplit: [secret] end');
    expect(ok.result['[secret]']).toBe('[secret]');
    const bad = await finished({ kind: 'leak', outcome: 'error' }, 'failed');
    expect(bad.attempt).toBe(2);
    expect(bad.error).toContain('leak.py printed: stdout says [secret]');
    expect(bad.step).toBe('installing with [secret]');
  });

  it('refuses at save time, with a 400 naming env, a secret supervisor cannot carry', async () => {
    for (const value of ['x%(here)sy', 'pass ;word']) {
      const res = await api(h, admin, 'PUT', '/api/targets/app2', { ...spec, env: { APP_SECRET: value } });
      expect(res.status, res.text).toBe(400);
      expect(res.json.error.details.fieldErrors.env).toBeDefined();
    }
  });

  it('the secret is nowhere: database, API, pages, the worker trace log, or any file but the program file', async () => {
    const { stdout: dump } = await run('pg_dump', ['--data-only', h.database.url], { maxBuffer: 256 * 1024 * 1024 });
    expect(dump).toContain('installing with [secret]');
    expectNoSecret('pg_dump (jobs, job_events, audit, targets, BullMQ)', dump);

    const reads = ['/api/jobs?limit=100', '/api/targets', '/api/targets/app', '/api/targets/app/deployments'];
    for (const id of jobIds) reads.push(`/api/jobs/${id}`, `/api/jobs/${id}/events`, `/api/jobs/${id}/output`);
    for (const url of reads) {
      const res = await api(h, admin, 'GET', url);
      expect(res.status, url).toBe(200);
      expectNoSecret(url, res.text);
    }
    const pages = [
      '/',
      '/targets',
      '/deployments',
      '/audit',
      '/fragments/targets/app',
      '/targets/app/edit',
      '/targets/app/duplicate',
      '/targets/app/export.json',
    ];
    for (const id of jobIds)
      pages.push(`/jobs/${id}`, `/fragments/jobs/${id}/live?after=0`, `/fragments/jobs/${id}/row`);
    for (const url of pages) expectNoSecret(url, await page(url));
    // The repository URL shows its credential masked, in the form and in the export.
    for (const url of ['/targets/app/edit', '/targets/app/export.json'])
      expect(await page(url), url).toContain(`http://deckhand:***@127.0.0.1:${git.port}/repo.git`);

    const log = fs.readFileSync(workerLog, 'utf8');
    expect(log).toContain('worker ready'); // the log file really is the worker's
    expectNoSecret('the worker log', log);

    const holders: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile() && MARKS.some((m) => fs.readFileSync(p, 'latin1').includes(m))) holders.push(p);
      }
    };
    walk(dir); // releases, git's mirror and FETCH_HEAD, supervisord's log, the worker log
    expect(holders).toEqual([sup.programFile]);
  });
});
