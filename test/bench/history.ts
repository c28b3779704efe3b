/**
 * The history section of `npm run bench` (issue 11 §1): the pages people poll and page through,
 * measured with a small history and again after it grew a hundredfold, on one web process.
 *
 *   BENCH_HISTORY_JOBS: the large size (default 1,000,000 jobs, ten events each); 0 skips the section
 *   BENCH_HISTORY_SMALL: the small size (default 10,000)
 *   BENCH_HISTORY_MS: how long each page is measured at each size (default 3000)
 *
 * The small history is seeded as the newest part of the large one, so the same newest job, the same
 * targets and the same first pages are read at both sizes; growing it adds the older part.
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
}

/** Requests per second and p99 latency of one URL at CLIENTS keep-alive clients, after a short warm-up. */
async function measurePage(url: string, headers: Record<string, string>, ms: number): Promise<PageFigures> {
  const run = async (forMs: number, latencies: number[] | null) => {
    const deadline = Date.now() + forMs;
    let done = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (Date.now() < deadline) {
          const t0 = performance.now();
          const res = await request('GET', url, headers);
          if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${res.body.slice(0, 200)}`);
          latencies?.push(performance.now() - t0);
          done++;
        }
      }),
    );
    return done;
  };
  await run(300, null);
  const latencies: number[] = [];
  const t0 = Date.now();
  const done = await run(ms, latencies);
  return { rps: round(done / ((Date.now() - t0) / 1000)), p99_ms: round(percentile(latencies, 99), 2) };
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
    jobs_api_combined: '/api/jobs?status=lost&kind=config',
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

export async function historyBench(
  services: { REDIS_URL: string | undefined },
  say: (msg: string) => void,
): Promise<HistoryBenchResult | null> {
  const large = Number(process.env.BENCH_HISTORY_JOBS ?? 1_000_000);
  const small = Number(process.env.BENCH_HISTORY_SMALL ?? 10_000);
  const ms = Number(process.env.BENCH_HISTORY_MS ?? 3000);
  if (large === 0) return null;
  if (!(large > small && small > 0)) throw new Error('BENCH_HISTORY_JOBS must be larger than BENCH_HISTORY_SMALL');

  const database = await freshDatabase();
  const pool = database.db.$client;
  const queueName = `bench_h_${randomBytes(4).toString('hex')}`;
  await migrateQueueBackend({ name: queueName, databaseUrl: database.url, redisUrl: services.REDIS_URL });
  const people = await Promise.all(
    (['admin', 'operator', 'operator'] as const).map((role, i) =>
      createUser(database.db, ['bench', 'alice', 'carol'][i]!, role, 'bench password 123'),
    ),
  );
  const users = { ids: people.map((u) => u.id), names: ['bench', 'alice', 'carol'] };
  const session = await createSession(database.db, people[0]!.id);
  await seedTargets(pool);
  const dbSize = async () => Number((await pool.query('SELECT pg_database_size(current_database()) AS n')).rows[0].n);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const web = start('test/bench/web.ts', {
    DATABASE_URL: database.url,
    REDIS_URL: services.REDIS_URL,
    DECKHAND_QUEUE: queueName,
    DECKHAND_PORT: String(port),
  });
  try {
    await eventually(async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok, 30_000, 'the web tier');
    const headers = { Cookie: `deckhand_session=${session.token}`, Accept: 'text/html' };
    const measureAll = async (mid: number) => {
      const [newest] = (await pool.query('SELECT id FROM jobs ORDER BY num DESC LIMIT 1')).rows;
      const out: Record<string, PageFigures> = {};
      for (const [name, path] of Object.entries(pages(newest.id, encodeCursor(mid)))) {
        out[name] = await measurePage(`${base}${path}`, headers, ms);
      }
      return out;
    };

    let t0 = Date.now();
    await seedJobs(pool, users, { from: large - small + 1, to: large, total: large });
    say(`history: seeded ${small} jobs in ${Date.now() - t0} ms`);
    const sizeSmall = await dbSize();
    const atSmall = await measureAll(large - small / 2);

    t0 = Date.now();
    await seedJobs(pool, users, { from: 1, to: large - small, total: large });
    say(`history: grew to ${large} jobs (${large * EVENTS_PER_JOB} events) in ${Date.now() - t0} ms`);
    const sizeLarge = await dbSize();
    const atLarge = await measureAll(large / 2);

    const history_pages = Object.fromEntries(
      Object.keys(atSmall).map((name) => {
        const s = atSmall[name]!;
        const l = atLarge[name]!;
        return [name, { small: s, large: l, ratio: round(l.rps / s.rps, 3) }];
      }),
    );
    for (const [name, f] of Object.entries(history_pages))
      say(`history: ${name} ${f.small.rps} → ${f.large.rps} req/s (p99 ${f.small.p99_ms} → ${f.large.p99_ms} ms)`);
    return {
      history_flat_ratio: Math.min(...Object.values(history_pages).map((p) => p.ratio)),
      history_pages,
      history_sizes: { small_jobs: small, large_jobs: large, large_events: large * EVENTS_PER_JOB },
      db_bytes_per_100k_jobs: Math.round(((sizeLarge - sizeSmall) / (large - small)) * 100_000),
    };
  } finally {
    await stop(web);
    await database.drop();
  }
}
