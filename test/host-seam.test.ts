import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../config.ts';
import { HostReadError } from '../jobs/lib/host-reads.ts';
import { HttpError } from '../server/errors.ts';
import { createHostClient, type HostClient } from '../server/host-client.ts';
import { startHostServer } from '../worker/host-server.ts';
import { freshDatabase, type TestDatabase } from './support/db.ts';

const log = createLogger('silent', 'test');

describe('host seam: live reads over PostgreSQL, answered by a worker of the named host', () => {
  let database: TestDatabase;
  let client: HostClient;
  const servers: { stop(): Promise<void> }[] = [];

  beforeAll(async () => {
    database = await freshDatabase();
    client = createHostClient(database.db, log);
    servers.push(
      startHostServer(database.db, {
        host: 'alpha',
        worker: 'alpha:1',
        log,
        handlers: {
          'host-figures': async (params) => ({ served: 'alpha', echo: params, big: 'x'.repeat(20_000) }),
          'target-status': async (params) => {
            await new Promise((r) => setTimeout(r, 20)); // a read that takes a moment, like a log page
            return params;
          },
          'config-file': async () => {
            throw new HostReadError(404, 'not_found', 'no such config file');
          },
          'log-page': async () => {
            throw new Error('internal detail /etc/secret-path');
          },
        },
      }),
      startHostServer(database.db, {
        host: 'beta',
        worker: 'beta:1',
        log,
        handlers: { 'host-figures': async () => ({ served: 'beta' }) },
      }),
    );
  });

  afterAll(async () => {
    for (const s of servers) await s.stop();
    await client?.close();
    await database?.drop();
  });

  it('a read reaches a worker of the host it names, and only that host; replies larger than a NOTIFY come back whole', async () => {
    const a = (await client.read('alpha', 'host-figures', { n: 1 })) as { served: string; echo: unknown; big: string };
    expect(a.served).toBe('alpha');
    expect(a.echo).toEqual({ n: 1 });
    expect(a.big).toHaveLength(20_000);
    expect(await client.read('beta', 'host-figures', {})).toEqual({ served: 'beta' });
  });

  it('many concurrent reads are each answered once, and no request row is left behind', async () => {
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => client.read('alpha', 'host-figures', { i })),
    );
    expect(answers.map((a) => (a as { echo: { i: number } }).echo.i)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const left = await database.pool.query('SELECT count(*)::int AS n FROM host_requests');
    expect(left.rows[0].n).toBe(0);
  });

  it('a burst of slow reads beyond the in-flight limit is served as places free up, well within the timeout', async () => {
    const reads = Array.from({ length: 150 }, (_, i) => client.read('alpha', 'target-status', { i }));
    const answers = await Promise.all(reads);
    expect(answers).toEqual(Array.from({ length: 150 }, (_, i) => ({ i })));
  });

  it('a host with no worker answers 503 host_unavailable after the timeout, and the request is removed', async () => {
    const err = (await client.read('gamma', 'host-figures', {}, 600).catch((e) => e)) as HttpError;
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 503, code: 'host_unavailable' });
    expect(err.message).toContain('no worker is serving host gamma');
    const left = await database.pool.query("SELECT count(*)::int AS n FROM host_requests WHERE host = 'gamma'");
    expect(left.rows[0].n).toBe(0);
  });

  it("a worker's refusal keeps its status and code; an internal failure is a 502 without internals; an unknown read is a 400", async () => {
    await expect(client.read('alpha', 'config-file', {})).rejects.toMatchObject({ status: 404, code: 'not_found' });
    const internal = (await client.read('alpha', 'log-page', {}).catch((e) => e)) as HttpError;
    expect(internal).toMatchObject({ status: 502, code: 'host_error' });
    expect(internal.message).not.toContain('/etc/secret-path');
    await expect(client.read('beta', 'config-list', {})).rejects.toMatchObject({ status: 400, code: 'unknown_read' });
  });

  it('a stopped listener ignores its connection being cut afterwards (the database dropped, a server restart)', async () => {
    const { listenChannel } = await import('../db/listen.ts');
    const listener = listenChannel(database.db, log, 'deckhand_test_channel', () => {});
    await listener.ready;
    await listener.stop();
    const errors: unknown[] = [];
    const onError = (err: unknown) => errors.push(err);
    process.on('uncaughtException', onError);
    try {
      // From outside the pool (which would hand this query the listener's old client): end every connection to it.
      const outside = new pg.Client({ connectionString: database.url });
      await outside.connect();
      await outside.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      await outside.end();
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(errors).toEqual([]);
  });
});
