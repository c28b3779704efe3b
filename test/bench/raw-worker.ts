// The baseline: a bare BullMQ worker process with a no-op processor, as configured as Deckhand's.
import { createPostgresBackend, Worker } from 'bullmq';
import { Redis } from 'ioredis';

const { BENCH_QUEUE: name = 'raw', DATABASE_URL, REDIS_URL, BENCH_CONCURRENCY = '16' } = process.env;
const opts = { concurrency: Number(BENCH_CONCURRENCY), maxStalledCount: 0 };
const processor = async () => null;
const worker = REDIS_URL
  ? new Worker(name, processor, { ...opts, connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }) })
  : new Worker(
      name,
      processor,
      { ...opts, connection: { connectionString: DATABASE_URL!, max: 8 } },
      createPostgresBackend,
    );
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.once('SIGTERM', async () => {
  await worker.close();
  process.exit(0);
});
