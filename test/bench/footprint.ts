/**
 * The footprint benchmark (issue 11 §2): a real `npm start` (embedded PostgreSQL, BullMQ on it, the
 * compiled dist/), warmed up, then
 *   - `rss_mb`: per process kind, the largest RSS of one process of that kind (PostgreSQL: the PSS
 *     of all its processes, which share their buffers), with `processes` counting each kind;
 *   - `rss_total_mb`: the PSS of every process of the run, npm included (an RSS sum would count
 *     PostgreSQL's shared memory once per backend);
 *   - `poll_cpu_pct_200`: CPU time of the web tier (its primary and web processes) while 200
 *     simulated browsers each poll a running job's live fragment at htmx's interval, as % of one core.
 * Run alone: `node --import tsx test/bench/footprint.ts` (its last line is the JSON object).
 *   BENCH_BROWSERS (default 200), BENCH_POLL_WINDOW_MS (default 15000)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { connectDatabase } from '../../db/client.ts';
import { readRunningCluster, urlFor } from '../../db/embedded.ts';
import { createUser } from '../../server/auth/accounts.ts';
import { createSession } from '../../server/auth/sessions.ts';
import { createApiToken } from '../../server/auth/tokens.ts';
import { eventually, sleep } from '../support/app.ts';
import { freePort } from '../support/redis.ts';
import { round } from './load.ts';
import { cpuSecondsOf, type Kind, memoryOf, processesOf } from './proc-stats.ts';

const root = path.resolve(import.meta.dirname, '../..');
const BROWSERS = Number(process.env.BENCH_BROWSERS ?? 200);
const WINDOW_MS = Number(process.env.BENCH_POLL_WINDOW_MS ?? 15_000);
/** htmx's interval on the job page's live fragment (views/jobs.tsx: `every 1s`). */
const POLL_MS = 1000;
/** "started 12 s ago" changes every second in a job's first minute; the window is a job's steady state after it. */
const JOB_AGE_MS = 65_000;
const say = (msg: string) => process.stderr.write(`bench footprint: ${msg}\n`);

const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

function get(url: string, headers: Record<string, string>) {
  return new Promise<{ status: number; etag?: string; body: string }>((resolve, reject) => {
    http
      .get(url, { headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, etag: res.headers.etag, body: Buffer.concat(chunks).toString() }),
        );
      })
      .on('error', reject);
  });
}

/** `npm start` in a fresh data directory, in a process group of its own; resolves once it serves. */
async function startDeckhand(dataDir: string, port: number): Promise<ChildProcess> {
  const npm = spawn('npm', ['start'], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DECKHAND_DATA_DIR: dataDir,
      DECKHAND_PORT: String(port),
      DECKHAND_SCRIPTS_DIR: path.join(import.meta.dirname, 'scripts'),
      DECKHAND_SHUTDOWN_GRACE_MS: '1000',
      LOG_LEVEL: 'warn',
      ...Object.fromEntries(
        Object.entries(process.env).filter(([k]) => /^(DECKHAND_WORKERS|DECKHAND_WEB_PROCESSES|NODE_OPTIONS)$/.test(k)),
      ),
    },
  });
  await eventually(
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok,
    120_000,
    'npm start to serve',
  );
  return npm;
}

/** One simulated browser on a job page: asks for the live fragment every second, as htmx does, revalidating with its ETag. */
async function browser(base: string, url: string, cookie: string, until: number, counts: Record<number, number>) {
  let etag: string | undefined;
  let next = url;
  for (let tick = Date.now(); tick < until; tick += POLL_MS) {
    await sleep(Math.max(0, tick - Date.now()));
    const res = await get(`${base}${next}`, {
      Cookie: cookie,
      'HX-Request': 'true',
      ...(etag ? { 'If-None-Match': etag } : {}),
    });
    counts[res.status] = (counts[res.status] ?? 0) + 1;
    // htmx swaps nothing on a 304 or a 204 (nothing new since the fragment's digest) and polls the same URL again.
    if (res.status === 304 || res.status === 204) continue;
    etag = res.etag;
    const poll = /hx-get="([^"]+)"/.exec(res.body)?.[1];
    if (!poll) return; // terminal: the fragment stops polling
    next = poll.replaceAll('&amp;', '&');
  }
}

function memory(procs: { pid: number; kind: Kind }[]) {
  const rss: Partial<Record<Kind, number>> = {};
  const count: Partial<Record<Kind, number>> = {};
  let total = 0;
  for (const p of procs) {
    const m = memoryOf(p.pid);
    total += m.pss;
    count[p.kind] = (count[p.kind] ?? 0) + 1;
    rss[p.kind] = p.kind === 'postgres' ? (rss[p.kind] ?? 0) + m.pss : Math.max(rss[p.kind] ?? 0, m.rss);
  }
  delete rss.job;
  delete count.job;
  const rounded = Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, round(v)]));
  return { rss_mb: rounded, processes: count, rss_total_mb: round(total) };
}

export async function footprint() {
  execFileSync(process.execPath, ['build/app.mjs', '--if-stale'], { cwd: root, stdio: 'inherit' });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-footprint-'));
  fs.chmodSync(dataDir, 0o755); // as root, the embedded PostgreSQL runs as "postgres"
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const npm = await startDeckhand(dataDir, port);
  const info = readRunningCluster(dataDir)!;
  const database = connectDatabase(urlFor(info), 2);
  try {
    // Not the first admin: its one-time password must be changed before any page is served.
    const admin = await createUser(database.db, 'bench', 'admin', 'bench password 123');
    const token = await createApiToken(database.db, admin.id, null);
    const api = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const submit = async (body: object) => {
      const res = await fetch(`${base}/api/jobs`, { method: 'POST', headers: api, body: JSON.stringify(body) });
      if (res.status !== 202) throw new Error(`POST /api/jobs answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    };
    const ticker = await submit({ kind: 'script', script: 'ticker' });
    const startedAt = Date.now();
    const cookies = await Promise.all(
      Array.from(
        { length: BROWSERS },
        async () => `deckhand_session=${(await createSession(database.db, admin.id)).token}`,
      ),
    );
    // Warm-up: pages, the API, a few short jobs, then the browsers polling for a while.
    for (let i = 0; i < 3; i++) {
      for (const p of ['/', `/jobs/${ticker}`, '/scripts', '/audit', '/api/jobs']) {
        await get(`${base}${p}`, { Cookie: cookies[0]! });
      }
    }
    say(`warming up; polling starts when the job is ${JOB_AGE_MS / 1000} s old`);
    await sleep(Math.max(0, startedAt + JOB_AGE_MS - WINDOW_MS / 3 - Date.now()));
    const counts: Record<number, number> = {};
    const until = Date.now() + WINDOW_MS / 3 + WINDOW_MS;
    const pollers = cookies.map((c, i) =>
      sleep((i * POLL_MS) / BROWSERS).then(() =>
        browser(base, `/fragments/jobs/${ticker}/live?after=0`, c, until, counts),
      ),
    );
    await sleep(WINDOW_MS / 3);
    // The web tier: its web processes and its primary (under `npm start`, the supervisor).
    const webPids = processesOf(npm.pid!).filter((p) => ['web', 'web_supervisor', 'supervisor'].includes(p.kind));
    const cpuByKind = () => {
      const by: Record<string, number> = {};
      for (const p of webPids) by[p.kind] = (by[p.kind] ?? 0) + cpuSecondsOf(p.pid);
      return by;
    };
    const cpu0 = cpuByKind();
    const t0 = performance.now();
    await sleep(WINDOW_MS);
    const seconds = (performance.now() - t0) / 1000;
    const pctByKind = Object.fromEntries(
      Object.entries(cpuByKind()).map(([k, v]) => [k, round((100 * (v - (cpu0[k] ?? 0))) / seconds)]),
    );
    const cpuPct = Object.values(pctByKind).reduce((a, b) => a + b, 0);
    await Promise.all(pollers);
    const mem = memory(processesOf(npm.pid!));
    const polls = Object.values(counts).reduce((a, b) => a + b, 0);
    say(`polls answered: ${JSON.stringify(counts)}`);
    return {
      ...mem,
      poll_cpu_pct_200: round(cpuPct),
      poll_cpu_pct_by_process: pctByKind,
      poll_browsers: BROWSERS,
      poll_rps: round(polls / ((WINDOW_MS * 4) / 3 / 1000)),
      poll_304_pct: round((100 * (counts[304] ?? 0)) / polls),
      poll_204_pct: round((100 * (counts[204] ?? 0)) / polls),
    };
  } finally {
    await database.close();
    // As a user's Ctrl-C would reach it: the supervisor stops the workers, the web tier, then PostgreSQL.
    const supervisor = processesOf(npm.pid!).find((p) => p.kind === 'supervisor');
    if (supervisor) process.kill(supervisor.pid, 'SIGTERM');
    await new Promise((r) => (npm.exitCode === null ? npm.once('exit', r) : r(null)));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.filename === process.argv[1]) {
  console.log(JSON.stringify(await footprint()));
  process.exit(0);
}
