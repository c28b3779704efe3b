import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../config.ts';
import { listenChannel } from '../db/listen.ts';
import { eventually } from './support/app.ts';
import { freshDatabase, type TestDatabase } from './support/db.ts';

const log = createLogger('silent', 'test');

describe('LISTEN: every channel of a process on one shared connection', () => {
  let database: TestDatabase;
  let outside: pg.Client;

  beforeAll(async () => {
    database = await freshDatabase();
    outside = new pg.Client({ connectionString: database.url });
    await outside.connect();
  });
  afterAll(async () => {
    await outside.end();
    await database.drop();
  });

  /** Backends of this database listening on anything, seen from outside the pool. */
  async function listeningBackends(): Promise<number[]> {
    const r = await outside.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`,
    );
    return r.rows.map((row) => row.pid);
  }

  it('two channels listen on one backend and each hears only its own notifications', async () => {
    const heard: string[] = [];
    const a = listenChannel(database.db, log, 'deckhand_test_a', (p) => heard.push(`a:${p}`));
    const b = listenChannel(database.db, log, 'deckhand_test_b', (p) => heard.push(`b:${p}`));
    await Promise.all([a.ready, b.ready]);
    expect(a.isListening() && b.isListening()).toBe(true);
    expect(await listeningBackends()).toHaveLength(1);

    await outside.query(`SELECT pg_notify('deckhand_test_a', '1'), pg_notify('deckhand_test_b', '2')`);
    await eventually(async () => heard.length === 2, 5000, 'both notifications');
    expect(heard.sort()).toEqual(['a:1', 'b:2']);

    // One stopped: the other still hears its channel, and the stopped one hears nothing more.
    await a.stop();
    expect(a.isListening()).toBe(false);
    await outside.query(`SELECT pg_notify('deckhand_test_a', '3'), pg_notify('deckhand_test_b', '4')`);
    await eventually(async () => heard.includes('b:4'), 5000, 'b to hear 4');
    expect(heard).not.toContain('a:3');

    await b.stop();
    await eventually(async () => (await listeningBackends()).length === 0, 5000, 'the connection to be given back');
  });

  it('a cut connection is lost for every channel on it, and every channel listens again, told it reconnected', async () => {
    const events: string[] = [];
    const heard: string[] = [];
    const mk = (name: string) =>
      listenChannel(
        database.db,
        log,
        `deckhand_test_${name}`,
        (p) => heard.push(`${name}:${p}`),
        () => events.push(`${name} reconnected`),
        () => events.push(`${name} lost`),
      );
    const c = mk('c');
    const d = mk('d');
    await Promise.all([c.ready, d.ready]);
    expect(events).toEqual([]); // the first listen is not a reconnect

    const [pid] = await listeningBackends();
    await outside.query('SELECT pg_terminate_backend($1)', [pid]);
    await eventually(async () => !c.isListening() && !d.isListening(), 5000, 'both to notice the loss');
    await eventually(async () => c.isListening() && d.isListening(), 10_000, 'both to listen again');
    expect(events.sort()).toEqual(['c lost', 'c reconnected', 'd lost', 'd reconnected']);
    expect(await listeningBackends()).toHaveLength(1);

    await outside.query(`SELECT pg_notify('deckhand_test_c', 'x'), pg_notify('deckhand_test_d', 'y')`);
    await eventually(async () => heard.length === 2, 5000, 'both to hear again');
    await Promise.all([c.stop(), d.stop()]);
  });
});
