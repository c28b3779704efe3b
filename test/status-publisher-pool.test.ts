import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../config.ts';
import { connectDatabase, type Database } from '../db/client.ts';
import { startStatusPublisher } from '../worker/status/publisher.ts';
import { sleep } from './support/app.ts';
import { freshDatabase, type TestDatabase } from './support/db.ts';

/**
 * Two workers of one host: one publishes, the other asks for the publisher lock every interval and
 * hands its connection back to the pool. Nothing of those attempts may stay on the pooled connection,
 * or a worker that never leads grows by a listener every few seconds for as long as it runs.
 */
let database: TestDatabase;
const pools: Database[] = [];
beforeAll(async () => {
  database = await freshDatabase();
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await database.drop();
});

it('a worker that loses the publisher lock every 20 ms for most of a second leaves no listener behind on its pooled connection', async () => {
  const log = createLogger('silent', 'test');
  const [leader, follower] = [connectDatabase(database.url, 1), connectDatabase(database.url, 1)];
  pools.push(leader, follower);
  const publish = (db: Database, worker: string) =>
    startStatusPublisher(db.db, { host: 'pool-test', worker, intervalMs: 20, managed: [], log });
  const a = publish(leader, 'a');
  await sleep(200); // `a` holds the lock before `b` asks
  const baseline = await follower.pool.connect();
  const fresh = baseline.listenerCount('error');
  baseline.release();
  const b = publish(follower, 'b');
  await sleep(20 * 20 + 500);
  await b.stop();
  await a.stop();
  const after = await follower.pool.connect();
  try {
    expect(after.listenerCount('error')).toBe(fresh);
  } finally {
    after.release();
  }
});
