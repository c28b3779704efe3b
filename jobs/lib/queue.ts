import { createPostgresBackend, type Processor, Queue, runMigrations, Worker, type WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Batcher } from '../../db/batch.ts';
import { survivingConnectionErrors } from '../../db/client.ts';
import type { RetryPolicy } from './kind.ts';

/**
 * The queue contract shared by the web tier and the workers: one BullMQ queue,
 * job name = kind, jobId = the jobs row id, data = { id }. Everything else lives
 * in PostgreSQL, so BullMQ can run on Redis or on its PostgreSQL backend alike.
 */
/** The job name of a schedule's tick (jobs/lib/schedules.ts): it has no jobs row, and no reconciler touches it. */
export const SCHEDULE_TICK = 'schedule-tick';

export interface JobPayload {
  id: string;
}

export interface QueueSettings {
  name: string;
  databaseUrl: string;
  redisUrl?: string | undefined;
}

export type Backend = 'redis' | 'postgres';

export const backendOf = (s: QueueSettings): Backend => (s.redisUrl ? 'redis' : 'postgres');

export class QueueUnavailableError extends Error {
  override name = 'QueueUnavailableError';
}

/** BullMQ's own tables on PostgreSQL; idempotent and safe to run concurrently. */
export async function migrateQueueBackend(s: QueueSettings): Promise<void> {
  if (backendOf(s) !== 'postgres') return;
  const client = new pg.Client({ connectionString: s.databaseUrl });
  await client.connect();
  try {
    await runMigrations(client);
  } finally {
    await client.end();
  }
}

export interface Producer {
  readonly backend: Backend;
  /** The BullMQ queue itself, for the read-only queue dashboard. */
  readonly queue: Queue;
  add(kind: string, id: string, retry: RetryPolicy): Promise<void>;
  exists(id: string): Promise<boolean>;
  waitingCount(): Promise<number>;
  /** Ids of jobs BullMQ still means to hand to a worker (waiting, delayed, prioritized); schedule ticks are not jobs. */
  pendingJobIds(limit?: number): Promise<string[]>;
  /** BullMQ's own state of a job (for diagnostics and tests). */
  state(id: string): Promise<string>;
  /** False while a Redis connection is down, so producers can refuse at once. */
  isConnected(): boolean;
  remove(id: string): Promise<void>;
  /** Rejects quickly with QueueUnavailableError when the backend cannot be reached. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueueUnavailableError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A Redis connection we own; BullMQ leaves connections it was handed open on close. */
function redis(url: string, producer: boolean): Redis {
  const connection = producer
    ? // Producers fail fast: no offline queue, one retry per command.
      new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false })
    : // Workers wait out outages instead of erroring every command.
      new Redis(url, { maxRetriesPerRequest: null });
  connection.on('error', () => {});
  return connection;
}

/**
 * BullMQ's connections to PostgreSQL, one pool per process and database: a worker's consumer and
 * the producer beside it (reconciler, schedule ticks) share them, since each connection is a
 * PostgreSQL backend of a few MB. BullMQ ends only a pool it made itself, so the last user ends this one.
 */
const bullmqPools = new Map<string, { pool: pg.Pool; users: number }>();
const BULLMQ_POOL_MAX = 8;

function borrowBullmqPool(databaseUrl: string): { pool: pg.Pool; release(): Promise<void> } {
  let entry = bullmqPools.get(databaseUrl);
  if (!entry) {
    // BullMQ's SQL names its tables unqualified: a pool BullMQ did not make must pin the schema itself.
    const pool = survivingConnectionErrors(
      new pg.Pool({
        connectionString: databaseUrl,
        max: BULLMQ_POOL_MAX,
        keepAlive: true,
        options: '-c search_path=bullmq',
      }),
    );
    entry = { pool, users: 0 };
    bullmqPools.set(databaseUrl, entry);
  }
  const held = entry;
  held.users++;
  let released = false;
  return {
    pool: held.pool,
    async release() {
      if (released) return;
      released = true;
      if (--held.users > 0) return;
      bullmqPools.delete(databaseUrl);
      await held.pool.end();
    },
  };
}

function openQueue(s: QueueSettings): { queue: Queue; connection?: Redis; release(): Promise<void> } {
  if (s.redisUrl) {
    const connection = redis(s.redisUrl, true);
    return { queue: new Queue(s.name, { connection }), connection, release: async () => connection.disconnect() };
  }
  const lease = borrowBullmqPool(s.databaseUrl);
  const queue = new Queue(s.name, { connection: lease.pool }, createPostgresBackend);
  return { queue: queue as never, release: lease.release };
}

export async function createProducer(s: QueueSettings): Promise<Producer> {
  const { queue, connection, release } = openQueue(s);
  queue.on('error', () => {});
  const guard = <T>(p: Promise<T>, what: string) =>
    withTimeout(p, 3000, what).catch((err: unknown) => {
      throw err instanceof QueueUnavailableError
        ? err
        : new QueueUnavailableError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    });
  await guard(queue.waitUntilReady(), 'queue backend').catch(() => {});
  // Concurrent adds go to the backend together (one Redis round trip, or one PostgreSQL statement).
  const adds = new Batcher<{ kind: string; id: string; retry: RetryPolicy }, void>(
    async (items) => {
      await guard(
        queue.addBulk(
          items.map(({ kind, id, retry }) => ({
            name: kind,
            data: { id } satisfies JobPayload,
            opts: {
              jobId: id,
              attempts: retry.attempts,
              backoff: { type: 'exponential', delay: retry.backoffMs },
              removeOnComplete: { count: 1000 },
              removeOnFail: { count: 5000 },
            },
          })),
        ),
        'enqueue',
      );
      return items.map(() => undefined);
    },
    200,
    2,
    () => false,
  ); // Redis accepts or refuses a bulk add whole
  return {
    backend: backendOf(s),
    queue,
    add: (kind, id, retry) => adds.push({ kind, id, retry }),
    exists: async (id) => Boolean(await guard(queue.getJob(id), 'queue lookup')),
    isConnected: () => !connection || connection.status === 'ready',
    state: (id) => guard(queue.getJobState(id), 'queue state'),
    waitingCount: () => guard(queue.getWaitingCount(), 'queue count'),
    async pendingJobIds(limit = 1000) {
      const jobs = await guard(queue.getJobs(['wait', 'delayed', 'prioritized'], 0, limit - 1), 'queue list');
      return jobs.flatMap((j) => (j?.id && j.name !== SCHEDULE_TICK ? [j.id] : []));
    },
    async remove(id) {
      await guard(queue.remove(id), 'queue remove').catch(() => {});
    },
    async ping(timeoutMs = 2000) {
      await withTimeout(queue.getJobCounts('wait'), timeoutMs, 'queue backend').catch((err: unknown) => {
        throw new QueueUnavailableError(`queue backend unreachable: ${err instanceof Error ? err.message : err}`);
      });
    },
    async close() {
      await queue.close();
      await release();
    },
  };
}

export function createConsumer(
  s: QueueSettings,
  processor: Processor<JobPayload>,
  opts: Omit<WorkerOptions, 'connection'>,
): Worker<JobPayload> {
  if (s.redisUrl) {
    const connection = redis(s.redisUrl, false);
    const worker = new Worker<JobPayload>(s.name, processor, { ...opts, connection });
    worker.on('closed', () => connection.disconnect());
    return worker;
  }
  const lease = borrowBullmqPool(s.databaseUrl);
  const worker = new Worker(s.name, processor as never, { ...opts, connection: lease.pool }, createPostgresBackend);
  worker.on('closed', () => void lease.release());
  return worker as never;
}
