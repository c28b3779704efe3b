/**
 * `npm run bench`: Deckhand against the raw libraries, in one run, on real services.
 * Prints one JSON object as its last line (DESIGN.md §8).
 *
 *   BENCH_BACKEND=redis|postgres (default redis), BENCH_JOBS (default 5000), BENCH_CONCURRENCY (default 16)
 *   TEST_DATABASE_URL / TEST_REDIS_URL as for the tests.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createPostgresBackend, Queue, Worker } from 'bullmq';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { registryOf } from '../../jobs/index.ts';
import script from '../../jobs/script.ts';
import { type BackendName, harness } from '../support/app.ts';
import { measureRps, percentile, round, withConcurrency } from './load.ts';
import noop from './noop.ts';

const backend = (process.env.BENCH_BACKEND ?? 'redis') as BackendName;
const JOBS = Number(process.env.BENCH_JOBS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const CLIENTS = 50;
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

const h = await harness({
  backend,
  registry: registryOf(script, noop),
  env: { DECKHAND_WORKER_CONCURRENCY: String(CONCURRENCY) },
});
const admin = await h.user('admin');
const server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const auth = { Authorization: `Bearer ${admin.token}`, 'Content-Type': 'application/json' };

async function post(): Promise<{ id: string; ms: number; at: number }> {
  const t0 = performance.now();
  const res = await fetch(`${base}/api/jobs`, { method: 'POST', headers: auth, body: '{"kind":"noop"}' });
  if (res.status !== 202) throw new Error(`POST /api/jobs answered ${res.status}: ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  return { id, ms: performance.now() - t0, at: Date.now() };
}

const countDone = async () =>
  Number((await h.database.db.execute(sql`SELECT count(*)::int AS n FROM jobs WHERE status = 'succeeded'`)).rows[0]!.n);

async function rawBullmq(): Promise<number> {
  const name = `${h.queue.name}_raw`;
  const pg = { connection: { connectionString: h.database.url, max: 8 } };
  const redis = () => new Redis(h.queue.redisUrl!, { maxRetriesPerRequest: null });
  const queue =
    backend === 'redis' ? new Queue(name, { connection: redis() }) : new Queue(name, pg, createPostgresBackend);
  let done = 0;
  let finish!: () => void;
  const allDone = new Promise<void>((r) => {
    finish = r;
  });
  const processor = async () => {
    if (++done === JOBS) finish();
    return null;
  };
  const opts = { concurrency: CONCURRENCY, maxStalledCount: 0 };
  const worker =
    backend === 'redis'
      ? new Worker(name, processor, { ...opts, connection: redis() })
      : new Worker(name, processor, { ...opts, ...pg }, createPostgresBackend);
  await worker.waitUntilReady();
  const t0 = performance.now();
  await withConcurrency(JOBS, CLIENTS, (i) =>
    queue.add('noop', { id: `raw-${i}` }, { jobId: `raw-${i}`, removeOnComplete: { count: 1000 } }),
  );
  await allDone;
  const perSecond = JOBS / ((performance.now() - t0) / 1000);
  await worker.close();
  await queue.close();
  return perSecond;
}

async function endToEnd(): Promise<{ perSecond: number; enqueueMs: number[] }> {
  const worker = await h.startWorker();
  const t0 = performance.now();
  const posted = await withConcurrency(JOBS, CLIENTS, post);
  while ((await countDone()) < JOBS) await new Promise((r) => setTimeout(r, 20));
  const perSecond = JOBS / ((performance.now() - t0) / 1000);
  void worker;
  return { perSecond, enqueueMs: posted.map((p) => p.ms) };
}

async function pickupAtIdle(samples = 40): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const { id, at } = await post();
    let active: number | null = null;
    while (active === null) {
      const r = await h.database.db.execute(
        sql`SELECT (extract(epoch FROM at) * 1000)::float8 AS t FROM job_events WHERE job_id = ${id} AND data->>'status' = 'active'`,
      );
      if (r.rows[0]) active = Number(r.rows[0].t);
      else await new Promise((r) => setTimeout(r, 2));
    }
    out.push(Math.max(0, active - at));
    await new Promise((r) => setTimeout(r, 100));
  }
  return out;
}

async function fragments() {
  const [job] = (await h.database.db.execute(sql`SELECT id FROM jobs LIMIT 1`)).rows as { id: string }[];
  const rows = Number((await h.database.db.execute(sql`SELECT count(*)::int AS n FROM jobs`)).rows[0]!.n);
  const hello = new Hono().get('/hello', (c) => c.html('<tr><td>hello</td></tr>'));
  const bare = serve({ fetch: hello.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => bare.once('listening', r));
  const helloUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/hello`;
  const cookie = { Cookie: admin.cookie };
  const statusRps = await measureRps(`${base}/fragments/jobs/${job!.id}/row`, cookie, CLIENTS, 3000);
  const helloRps = await measureRps(helloUrl, {}, CLIENTS, 3000);
  bare.close();
  return { statusRps, helloRps, rows };
}

log(`backend=${backend} jobs=${JOBS} concurrency=${CONCURRENCY}`);
const raw = await rawBullmq();
log(`raw BullMQ: ${round(raw)} jobs/s`);
const e2e = await endToEnd();
log(`end to end: ${round(e2e.perSecond)} jobs/s`);
const pickup = await pickupAtIdle();
const frag = await fragments();
const result = {
  backend,
  jobs: JOBS,
  concurrency: CONCURRENCY,
  e2e_jobs_per_s: round(e2e.perSecond),
  raw_bullmq_jobs_per_s: round(raw),
  ratio: round(e2e.perSecond / raw, 3),
  enqueue_p50_ms: round(percentile(e2e.enqueueMs, 50), 2),
  enqueue_p99_ms: round(percentile(e2e.enqueueMs, 99), 2),
  pickup_p50_ms: round(percentile(pickup, 50), 2),
  pickup_p99_ms: round(percentile(pickup, 99), 2),
  status_fragment_rps: round(frag.statusRps),
  hello_fragment_rps: round(frag.helloRps),
  history_rows: frag.rows,
};
server.close();
await h.close();
console.log(JSON.stringify(result));
process.exit(0);
