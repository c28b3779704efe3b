/**
 * `npm run bench`: Deckhand against the raw libraries, in one run, on real services,
 * with each tier in its own process as production runs it. The last line printed is
 * one JSON object (DESIGN.md §8).
 *
 *   BENCH_BACKEND=redis|postgres (default redis)  BENCH_JOBS (default 5000)
 *   BENCH_CONCURRENCY: worker concurrency (default 16)
 *   BENCH_WARMUP: jobs run before the clock starts, on both sides (default 500)
 *   TEST_DATABASE_URL / TEST_REDIS_URL: the services, as for the tests
 *   BENCH_HISTORY_JOBS, BENCH_HISTORY_SMALL, BENCH_HISTORY_MS: the history section (test/bench/history.ts)
 *   BENCH_ONLY=pipeline: only the pipeline figures (raw, e2e, enqueue, pickup, fragment), for quick runs
 *   BENCH_CPU_PROF=DIR: the web and worker processes write V8 CPU profiles into DIR
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createPostgresBackend, Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { NODE_FLAGS } from '../../config.ts';
import { migrateQueueBackend } from '../../jobs/lib/queue.ts';
import { createUser } from '../../server/auth/accounts.ts';
import { createSession } from '../../server/auth/sessions.ts';
import { createApiToken } from '../../server/auth/tokens.ts';
import { eventually, sleep } from '../support/app.ts';
import { freshDatabase, redisUrl } from '../support/db.ts';
import { freePort } from '../support/redis.ts';
import { historyBench } from './history.ts';
import { measureRps, percentile, request, round, withConcurrency } from './load.ts';
import { printedReady, start, stop } from './processes.ts';

const backend = process.env.BENCH_BACKEND === 'postgres' ? 'postgres' : 'redis';
const JOBS = Number(process.env.BENCH_JOBS ?? 5000);
/** Steady state on both sides: the first cold requests (JIT, pools, caches) would otherwise set the p99. */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const CLIENTS = 50;
const pipelineOnly = process.env.BENCH_ONLY === 'pipeline';
const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
/** Production's V8 flags (the web processes swap them for their own when forked, as in production). */
const nodeArgs = [...NODE_FLAGS, ...profile];
const say = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

const database = await freshDatabase();
const db = database.db;
const queueName = `bench_${randomBytes(4).toString('hex')}`;
const services = { DATABASE_URL: database.url, REDIS_URL: backend === 'redis' ? redisUrl : undefined };
await migrateQueueBackend({ name: queueName, databaseUrl: database.url, redisUrl: services.REDIS_URL });
const admin = await createUser(db, 'bench', 'admin', 'bench password 123');
const token = await createApiToken(db, admin.id, null);

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const deckhandEnv = { ...services, DECKHAND_QUEUE: queueName, DECKHAND_PORT: String(port) };
const web = start('test/bench/web.ts', deckhandEnv, nodeArgs);
await eventually(async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok, 30_000, 'the web tier');
// After the web tier's cold start, which ends the sessions made before it (DESIGN §6).
const session = await createSession(db, admin.id);
const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };

async function post(): Promise<{ id: string; ms: number; sentAt: number; acceptedAt: number }> {
  const sentAt = Date.now();
  const t0 = performance.now();
  const res = await request('POST', `${base}/api/jobs`, auth, '{"kind":"noop"}');
  if (res.status !== 202) throw new Error(`POST /api/jobs answered ${res.status}: ${res.body}`);
  const { id } = JSON.parse(res.body) as { id: string };
  return { id, ms: performance.now() - t0, sentAt, acceptedAt: Date.now() };
}

const scalar = async (q: ReturnType<typeof sql>) => Number((await db.execute(q)).rows[0]!.n);

/** BullMQ alone: the same backend, payload, job options, client count and worker concurrency. */
async function rawBullmq(): Promise<number> {
  const name = `${queueName}_raw`;
  const worker = start('test/bench/raw-worker.ts', {
    ...services,
    BENCH_QUEUE: name,
    BENCH_CONCURRENCY: String(CONCURRENCY),
  });
  await printedReady(worker);
  const queue =
    backend === 'redis'
      ? new Queue(name, { connection: new Redis(redisUrl, { maxRetriesPerRequest: 1 }) })
      : new Queue(name, { connection: { connectionString: database.url, max: 8 } }, createPostgresBackend);
  const addAll = async (from: number, count: number) => {
    await withConcurrency(count, CLIENTS, (i) =>
      queue.add(
        'noop',
        { id: `raw-${from + i}` },
        { jobId: `raw-${from + i}`, attempts: 1, removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } },
      ),
    );
    for (;;) {
      const c = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
      if (Object.values(c).every((n) => n === 0)) break;
      await sleep(10);
    }
  };
  await addAll(0, WARMUP);
  const t0 = performance.now();
  await addAll(WARMUP, JOBS);
  const perSecond = JOBS / ((performance.now() - t0) / 1000);
  await stop(worker);
  await queue.close();
  return perSecond;
}

const succeeded = () => scalar(sql`SELECT count(*)::int AS n FROM jobs WHERE status = 'succeeded'`);

async function endToEnd(): Promise<{ perSecond: number; enqueueMs: number[] }> {
  await withConcurrency(WARMUP, CLIENTS, post);
  while ((await succeeded()) < WARMUP) await sleep(10);
  const t0 = performance.now();
  const posted = await withConcurrency(JOBS, CLIENTS, post);
  while ((await succeeded()) < WARMUP + JOBS) await sleep(10);
  const perSecond = JOBS / ((performance.now() - t0) / 1000);
  const audited = await scalar(sql`SELECT count(*)::int AS n FROM audit_log WHERE action = 'job.enqueue'`);
  if (audited < WARMUP + JOBS) throw new Error(`only ${audited} of ${WARMUP + JOBS} audit rows were written`);
  return { perSecond, enqueueMs: posted.map((p) => p.ms) };
}

/** From the 202 to the `active` event, one job at a time on an idle system. */
async function pickupAtIdle(samples = 50) {
  const from202: number[] = [];
  const fromPost: number[] = [];
  for (let i = 0; i < samples; i++) {
    const job = await post();
    const active = await eventually(
      () =>
        scalar(
          sql`SELECT (extract(epoch FROM at) * 1000)::float8 AS n FROM job_events WHERE job_id = ${job.id} AND data->>'status' = 'active'`,
        ).catch(() => 0),
      10_000,
      'pickup',
    );
    from202.push(Math.max(0, active - job.acceptedAt));
    fromPost.push(active - job.sentAt);
    await sleep(100);
  }
  return { from202, fromPost };
}

async function fragments() {
  const [job] = (await db.execute(sql`SELECT id FROM jobs ORDER BY num DESC LIMIT 1`)).rows as { id: string }[];
  const rows = await scalar(sql`SELECT count(*)::int AS n FROM jobs`);
  const helloPort = await freePort();
  const hello = start('test/bench/hello.ts', { PORT: String(helloPort) });
  await printedReady(hello);
  const statusRps = await measureRps(
    `${base}/fragments/jobs/${job!.id}/row`,
    { Cookie: `deckhand_session=${session.token}` },
    CLIENTS,
    3000,
  );
  const helloRps = await measureRps(`http://127.0.0.1:${helloPort}/hello`, {}, CLIENTS, 3000);
  await stop(hello);
  return { statusRps, helloRps, rows };
}

async function laterSections() {
  // History at scale (retention issue): its own database and web process, seeded with generate_series.
  const history = await historyBench(services, say);
  // In its own process, so that its peak RSS is the log reader's alone.
  const logPaging = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', 'test/bench/log-paging.ts'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .at(-1)!,
  );
  say(
    `log paging: newest 200 lines of 2 GB in ${logPaging.log_page_ms_2gb} ms, of 2 MB in ${logPaging.log_page_ms_2mb} ms`,
  );
  // A real `npm start` (compiled dist/, embedded PostgreSQL), in its own process: RSS per process, polling cost.
  const footprint = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', 'test/bench/footprint.ts'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .at(-1)!,
  );
  return { ...logPaging, ...history, ...footprint };
}

say(`backend=${backend} jobs=${JOBS} warmup=${WARMUP} worker concurrency=${CONCURRENCY} clients=${CLIENTS}`);
const raw = await rawBullmq();
say(`raw BullMQ: ${round(raw)} jobs/s`);
const worker = start(
  'test/bench/worker.ts',
  { ...deckhandEnv, DECKHAND_WORKER_CONCURRENCY: String(CONCURRENCY) },
  nodeArgs,
);
await sleep(1500); // let it connect before the clock starts
const e2e = await endToEnd();
say(`end to end: ${round(e2e.perSecond)} jobs/s`);
const pickup = await pickupAtIdle();
const frag = await fragments();
await Promise.all([stop(worker), stop(web)]);
await database.drop();
// History, log paging and footprint take most of the run; BENCH_ONLY=pipeline leaves them out.
const later = pipelineOnly ? {} : await laterSections();

console.log(
  JSON.stringify({
    backend,
    jobs: JOBS,
    warmup_jobs: WARMUP,
    worker_concurrency: CONCURRENCY,
    clients: CLIENTS,
    e2e_jobs_per_s: round(e2e.perSecond),
    raw_bullmq_jobs_per_s: round(raw),
    ratio: round(e2e.perSecond / raw, 3),
    enqueue_p50_ms: round(percentile(e2e.enqueueMs, 50), 2),
    enqueue_p99_ms: round(percentile(e2e.enqueueMs, 99), 2),
    pickup_p50_ms: round(percentile(pickup.from202, 50), 2),
    pickup_p99_ms: round(percentile(pickup.from202, 99), 2),
    pickup_from_post_p50_ms: round(percentile(pickup.fromPost, 50), 2),
    status_fragment_rps: round(frag.statusRps),
    hello_fragment_rps: round(frag.helloRps),
    history_rows: frag.rows,
    ...later,
  }),
);
process.exit(0);
