import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { api, eventually, type Harness, type TestUser } from './support/app.ts';
import {
  freePort,
  type HarnessOnPrivatePostgres,
  harnessOnPrivatePostgres,
  type PrivatePostgres,
} from './support/postgres.ts';

/** While PostgreSQL is down the API answers 503 database_unavailable, never 500, and recovers by itself. */

let setup: HarnessOnPrivatePostgres;
let postgres: PrivatePostgres;
let h: Harness;
let op: TestUser;

beforeAll(async () => {
  setup = await harnessOnPrivatePostgres();
  ({ postgres, h } = setup);
  op = await h.user('operator');
});
afterAll(async () => setup?.close());

const stepsJob = { kind: 'script', script: 'steps', params: { count: 1 } };

describe('a PostgreSQL outage (private cluster, stopped and started)', () => {
  it('answers 503 database_unavailable on every API call meanwhile, for tokens and sessions, then recovers', async () => {
    const before = await api(h, op, 'POST', '/api/jobs', stepsJob);
    expect(before.status).toBe(202);
    const id = before.json.id as string;

    await postgres.stop();
    const calls: [string, () => Promise<{ status: number; json: any }>][] = [
      ['POST /api/jobs', () => api(h, op, 'POST', '/api/jobs', stepsJob)],
      ['POST /api/jobs with a key', () => api(h, op, 'POST', '/api/jobs', stepsJob, { 'Idempotency-Key': 'k1' })],
      ['GET /api/jobs/:id', () => api(h, op, 'GET', `/api/jobs/${id}`)],
      ['GET /api/jobs', () => api(h, op, 'GET', '/api/jobs')],
      ['GET /api/jobs/:id/events', () => api(h, op, 'GET', `/api/jobs/${id}/events`)],
      ['POST /api/jobs/:id/cancel', () => api(h, op, 'POST', `/api/jobs/${id}/cancel`)],
      ['GET /api/targets', () => api(h, op, 'GET', '/api/targets')],
      [
        'GET /api/jobs with a session cookie',
        async () => {
          const res = await h.app.request('/api/jobs', { headers: { Cookie: op.cookie } });
          return { status: res.status, json: await res.json() };
        },
      ],
    ];
    for (const [what, call] of calls) {
      // Twice: the first call may meet pooled connections that the shutdown just ended, the next a refused connect.
      for (const round of [1, 2]) {
        const res = await call();
        expect(res.status, `${what} (${round})`).toBe(503);
        expect(res.json.error, what).toEqual({
          code: 'database_unavailable',
          message: expect.any(String),
          details: null,
          requestId: expect.any(String), // the same id as the log line, for support
        });
      }
    }
    expect((await h.app.request('/readyz')).status).toBe(503);

    await postgres.start();
    const after = await eventually(
      async () => {
        const r = await api(h, op, 'POST', '/api/jobs', stepsJob);
        return r.status === 503 ? null : r;
      },
      15_000,
      'the API to recover',
    );
    expect(after.status).toBe(202);
    expect((await api(h, op, 'GET', `/api/jobs/${id}`)).json.status).toBe('queued');
    expect((await api(h, op, 'GET', '/api/jobs')).status).toBe(200);
  });
});

describe('which database errors mean "unavailable"', () => {
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (err: unknown) => err,
    );

  it('a refused connection and a pool that cannot connect do; a failing query does not', async () => {
    const refused = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/x` });
    refused.on('error', () => {});
    expect(isDatabaseUnavailable(await failure(refused.query('SELECT 1')))).toBe(true);
    await refused.end();
    // A bad query on a live server (drizzle wraps it) is a bug to see as a 500, not an outage.
    const divide = await failure(h.database.db.execute(sql`SELECT 1 / ${0}::int`));
    expect(divide).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(divide)).toBe(false);
    const nul = await failure(h.database.db.execute(sql`SELECT ${'a\u0000b'}::text`));
    expect(isDatabaseUnavailable(nul)).toBe(false);
  });
});
