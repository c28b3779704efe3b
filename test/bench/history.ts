/**
 * The history section of `npm run bench` (issue 11 §1): the pages people poll and page through,
 * measured with a small history and again after it grew a hundredfold, on one web process.
 *
 *   BENCH_HISTORY_JOBS: the large size (default 1,000,000 jobs, ten events each); 0 skips the section
 *   BENCH_HISTORY_SMALL: the small size (default 10,000)
 *   BENCH_HISTORY_MS: how long each page is measured at each size (default 3000)
 *
 * Two databases, each with its own web process: the small history is seeded as the newest part of
 * the large one (the same newest jobs, targets and first pages), and each page is measured on both
 * in turn, twice (small, large, large, small), so the load of a shared machine falls on both alike.
 */
import { randomBytes } from 'node:crypto';
import { migrateQueueBackend } from '../../jobs/lib/queue.ts';
import { createUser } from '../../server/auth/accounts.ts';
import { createSession } from '../../server/auth/sessions.ts';
import { encodeCursor } from '../../server/serialize.ts';
import { eventually } from '../support/app.ts';
import { freshDatabase } from '../support/db.ts';
import { freePort } from '../support/redis.ts';
import { EVENTS_PER_JOB, seedJobs, seedTargets } from './history-seed.ts';
import { percentile, request, round } from './load.ts';
import { start, stop } from './processes.ts';

const CLIENTS = 16;

interface PageFigures {
  rps: number;
  p99_ms: number;
  /** Answers other than 200 (left out of rps and p99). */
  errors: number;
}

/**
 * Requests answered at CLIENTS keep-alive clients for `ms`, after a short warm-up, with their
 * latencies. An answer other than 200 is counted, not fatal: on a loaded machine a pool can time out.
 */
async function measurePage(url: string, headers: Record<string, string>, ms: number, latencies: number[]) {
  let failed = 0;
  let sample = '';
  const run = async (forMs: number, into: number[] | null) => {
    const deadline = Date.now() + forMs;
    let done = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (Date.now() < deadline) {
          const t0 = performance.now();
          const res = await request('GET', url, headers);
          if (res.status !== 200) {
            failed++;
            sample ||= `${url} answered ${res.status}`;
            continue;
          }
          into?.push(performance.now() - t0);
          done++;
        }
      }),
    );
    return done;
  };
  await run(300, null);
  const t0 = Date.now();
  const done = await run(ms, latencies);
  return { done, seconds: (Date.now() - t0) / 1000, failed, sample };
}

/** The pages and API reads that must stay flat, by name; `mid` is a cursor into the middle of the history. */
function pages(newestJob: string, mid: string): Record<string, string> {
  return {
    dashboard: '/',
    jobs_api: '/api/jobs',
    jobs_api_status: '/api/jobs?status=failed',
    jobs_api_kind: '/api/jobs?kind=deploy',
    jobs_api_target: '/api/jobs?target=app-3',
    jobs_api_cursor: `/api/jobs?cursor=${mid}`,
    // Pairs whose page is the same at both sizes: one that fills it (the same 50 newest jobs) and one that
    // matches nothing. A pair with a page's worth in the large history but 3 jobs in the small one
    // (`status=lost&kind=config`) compared the rendering of 50 jobs with that of 3.
    jobs_api_combined: '/api/jobs?status=failed&kind=restart',
    jobs_api_rare_pair: '/api/jobs?status=lost&kind=notify',
    job_page: `/jobs/${newestJob}`,
    status_fragment: `/fragments/jobs/${newestJob}/row`,
    audit_page: '/audit',
    deployments_page: '/deployments',
  };
}

export interface HistoryBenchResult {
  history_flat_ratio: number;
  history_pages: Record<string, { small: PageFigures; large: PageFigures; ratio: number }>;
  history_sizes: { small_jobs: number; large_jobs: number; large_events: number };
  db_bytes_per_100k_jobs: number;
}

interface History {
  base: string;
  headers: Record<string, string>;
  newestJob: string;
  bytes: number;
  close(): Promise<void>;
}

/** A database holding jobs `from`..`total` of a `total`-job history, and a web process serving it. */
async function history(
  services: { REDIS_URL: string | undefined },
  from: number,
  total: number,
  say: (msg: string) => void,
): Promise<History> {
  const database = await freshDatabase();
  const pool = database.db.$client;
  const queueName = `bench_h_${randomBytes(4).toString('hex')}`;
  await migrateQueueBackend({ name: queueName, databaseUrl: database.url, redisUrl: services.REDIS_URL });
  const names = ['bench', 'alice', 'carol'];
  const people = await Promise.all(
    (['admin', 'operator', 'operator'] as const).map((role, i) =>
      createUser(database.db, names[i]!, role, 'bench password 123'),
    ),
  );
  await seedTargets(pool);
  const t0 = Date.now();
  await seedJobs(pool, { ids: people.map((u) => u.id), names }, { from, to: total, total });
  const jobs = total - from + 1;
  say(`history: seeded ${jobs} jobs (${jobs * EVENTS_PER_JOB} events) in ${Date.now() - t0} ms`);
  const bytes = Number((await pool.query('SELECT pg_database_size(current_database()) AS n')).rows[0].n);
  const [newest] = (await pool.query('SELECT id FROM jobs ORDER BY num DESC LIMIT 1')).rows;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const web = start('test/bench/web.ts', {
    DATABASE_URL: database.url,
    REDIS_URL: services.REDIS_URL,
    DECKHAND_QUEUE: queueName,
    DECKHAND_PORT: String(port),
  });
  const close = async () => {
    await stop(web);
    await database.drop();
  };
  try {
    await eventually(async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok, 30_000, 'the web tier');
  } catch (err) {
    await close();
    throw err;
  }
  // After the web tier's cold start, which ends the sessions made before it (DESIGN §6).
  const session = await createSession(database.db, people[0]!.id);
  const headers = { Cookie: `deckhand_session=${session.token}`, Accept: 'text/html' };
  return { base, headers, newestJob: String(newest.id), bytes, close };
}

export async function historyBench(
  services: { REDIS_URL: string | undefined },
  say: (msg: string) => void,
): Promise<HistoryBenchResult | null> {
  const large = Number(process.env.BENCH_HISTORY_JOBS ?? 1_000_000);
  const small = Number(process.env.BENCH_HISTORY_SMALL ?? 10_000);
  const ms = Number(process.env.BENCH_HISTORY_MS ?? 3000);
  if (large === 0) return null;
  if (!(large > small && small > 0)) throw new Error('BENCH_HISTORY_JOBS must be larger than BENCH_HISTORY_SMALL');

  const opened: History[] = [];
  try {
    const s = await history(services, large - small + 1, large, say);
    opened.push(s);
    const l = await history(services, 1, large, say);
    opened.push(l);
    const smallPages = pages(s.newestJob, encodeCursor(large - small / 2));
    const largePages = pages(l.newestJob, encodeCursor(large / 2));
    const history_pages: HistoryBenchResult['history_pages'] = {};
    for (const name of Object.keys(smallPages)) {
      const tally = {
        small: { done: 0, seconds: 0, failed: 0, ms: [] as number[] },
        large: { done: 0, seconds: 0, failed: 0, ms: [] as number[] },
      };
      const once = async (which: 'small' | 'large') => {
        const h = which === 'small' ? s : l;
        const path = (which === 'small' ? smallPages : largePages)[name]!;
        const r = await measurePage(`${h.base}${path}`, h.headers, ms / 2, tally[which].ms);
        tally[which].done += r.done;
        tally[which].seconds += r.seconds;
        tally[which].failed += r.failed;
        if (r.sample) say(`history: ${r.failed} errors, e.g. ${r.sample}`);
      };
      for (const which of ['small', 'large', 'large', 'small'] as const) await once(which);
      const figures = (t: typeof tally.small): PageFigures => ({
        rps: round(t.done / t.seconds),
        p99_ms: round(percentile(t.ms, 99), 2),
        errors: t.failed,
      });
      const f = { small: figures(tally.small), large: figures(tally.large) };
      history_pages[name] = { ...f, ratio: round(f.large.rps / f.small.rps, 3) };
      say(`history: ${name} ${f.small.rps} → ${f.large.rps} req/s (p99 ${f.small.p99_ms} → ${f.large.p99_ms} ms)`);
    }
    return {
      history_flat_ratio: Math.min(...Object.values(history_pages).map((p) => p.ratio)),
      history_pages,
      history_sizes: { small_jobs: small, large_jobs: large, large_events: large * EVENTS_PER_JOB },
      db_bytes_per_100k_jobs: Math.round(((l.bytes - s.bytes) / (large - small)) * 100_000),
    };
  } finally {
    for (const h of opened) await h.close();
  }
}
