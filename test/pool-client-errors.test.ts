import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/app.ts';
import { freshDatabase, type TestDatabase } from './support/db.ts';

/**
 * pg-pool takes its own error listener off a client while it is checked out. A client held between
 * queries (a transaction, a held lock, a LISTEN connection just opened) whose backend is ended then
 * emitted an 'error' nobody listened for, and the process died: a worker with running jobs, whose
 * jobs were then recorded lost, in the PostgreSQL outage chaos test.
 */
describe('a pooled connection that fails while checked out and idle', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('does not end the process: its next query is refused and the pool serves a new connection', async () => {
    const fixture = path.join(import.meta.dirname, 'fixtures', 'held-client.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, database.url], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await eventually(async () => /pid \d+/.test(out), 20_000, 'the fixture to hold its client');
      const pid = Number(/pid (\d+)/.exec(out)![1]);
      await database.pool.query('SELECT pg_terminate_backend($1)', [pid]);
      const gone = async () =>
        (await database.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0;
      await eventually(gone, 10_000, 'the backend to end');
      await new Promise((r) => setTimeout(r, 300)); // its FATAL message reaches the fixture
      child.stdin.write('go\n');
      expect(await exited, err).toBe(0);
      expect(out).toContain('held refused; pool 1');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
