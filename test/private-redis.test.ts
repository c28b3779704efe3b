import { afterAll, describe, expect, it } from 'vitest';
import { processAlive } from './support/app.ts';
import { pidsListeningOn } from './support/procfs.ts';
import { accepts, freePort, PrivateRedis } from './support/redis.ts';

describe('a private redis-server started by a test', () => {
  const started: PrivateRedis[] = [];
  afterAll(async () => {
    for (const r of started) await r.kill();
  });

  it('is gone after kill(), even when start() was called again while it ran', async () => {
    const redis = new PrivateRedis(await freePort());
    started.push(redis);
    await redis.start();
    const [pid] = pidsListeningOn(redis.port);
    expect(pid).toBeGreaterThan(0);
    await redis.start(); // as an afterAll does to let clients close cleanly, whether or not an outage is on
    await redis.kill();
    expect(processAlive(pid!)).toBe(false);
    expect(await accepts(redis.port)).toBe(false);
  });

  it('starts again on the same port after an outage', async () => {
    const redis = new PrivateRedis(await freePort());
    started.push(redis);
    await redis.start();
    await redis.kill();
    expect(await accepts(redis.port)).toBe(false);
    await redis.start();
    expect(await accepts(redis.port)).toBe(true);
    await redis.kill();
    expect(pidsListeningOn(redis.port)).toEqual([]);
  });
});
