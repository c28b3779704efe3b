import { randomBytes } from 'node:crypto';
import type { Logger } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { type ChannelListener, listenChannel } from '../../db/listen.ts';

/**
 * The channel db/migrations/0008_auth_notify.sql notifies on (`user:<id>`, `session:<id>`,
 * `token:<id>`), and `settle` uses (`sync:<marker>`, answered by every process with `ack:<marker>`).
 */
export const AUTH_CHANNEL = 'deckhand_auth';

/** How long a check is reused; also the worst case should a NOTIFY go missing without the connection failing. */
const ENTRY_TTL_MS = 5000;
const MAX_ENTRIES = 10_000;
/** How long `settle` waits for every web process to confirm. */
const SETTLE_MS = 2000;

export type CacheKind = 'session' | 'token';

interface Entry {
  userId: string;
  value: unknown;
  until: number;
}

/** A read of the database in flight, and the generation it began in. */
interface Read {
  since: number;
  result: Promise<unknown>;
}

/**
 * Token and session checks of this web process, reused for a few seconds so that a request costs
 * no round trip to PostgreSQL. Every change that could alter a check (revoke, logout, role,
 * password, disable, expiry) is NOTIFYed by a trigger at commit, and the entries it concerns are
 * dropped when it arrives. While the listening connection is down, notifications could be missed,
 * so nothing is served from here until it listens again (and then starts empty).
 *
 * A fill that raced with an invalidation is not stored: every invalidation bumps `generation`.
 */
export class AuthCache {
  private readonly entries = new Map<string, Entry>();
  private readonly reads = new Map<string, Read>();
  private generation = 0;
  private readonly listener: ChannelListener;
  /** Markers this process sent, each with what counts an answer. */
  private readonly acks = new Map<string, () => void>();

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {
    this.listener = listenChannel(
      db,
      log,
      AUTH_CHANNEL,
      (payload) => this.onNotify(payload),
      () => this.clear(),
      () => this.clear(),
    );
  }

  /** Settles after the first attempt to listen; until it succeeds every check reads the database. */
  get ready(): Promise<void> {
    return this.listener.ready;
  }

  isListening(): boolean {
    return this.listener.isListening();
  }

  /**
   * Resolves once every listening web process has heard the changes committed before the call: a
   * listener gets notifications in commit order, so when each has answered a marker sent after
   * them, each has dropped what they concern. A route that revokes, logs out or changes an account
   * awaits this before it answers, so no process serves the old check to the caller's next request.
   * A process that does not answer in time has lost its listener (and then serves nothing cached).
   */
  async settle(): Promise<void> {
    const marker = randomBytes(8).toString('hex');
    const { rows } = await this.db.$client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query = $1',
      [`LISTEN ${AUTH_CHANNEL}`],
    );
    let waiting = rows[0]?.n ?? 0;
    if (waiting === 0) return; // not even this process listens: no process serves cached checks
    let timer: NodeJS.Timeout | undefined;
    const heard = new Promise<void>((resolve) => {
      const done = () => {
        this.acks.delete(marker);
        clearTimeout(timer);
        resolve();
      };
      this.acks.set(marker, () => --waiting <= 0 && done());
      timer = setTimeout(() => {
        this.log.warn({ unanswered: waiting }, 'not every web process confirmed an auth change in time');
        done();
      }, SETTLE_MS);
    });
    await this.db.$client.query('SELECT pg_notify($1, $2)', [AUTH_CHANNEL, `sync:${marker}`]);
    await heard;
  }

  /** A cached check, or undefined when there is none (or the cache cannot be trusted right now). */
  get<T>(kind: CacheKind, id: string): T | undefined {
    if (!this.listener.isListening()) return undefined;
    const key = `${kind}:${id}`;
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value as T;
  }

  /** Call before reading the database; pass the result to `set`. A read begun while not listening is never stored. */
  begin(): number {
    return this.listener.isListening() ? this.generation : -1;
  }

  /**
   * Runs `read` for a check, or joins the one already in flight for it: on a cold cache, fifty
   * requests of one token would otherwise make fifty identical reads. A request joins only a read
   * that began in its own generation (`since` from `begin`), so none is answered from a read that
   * began before an invalidation the request came after. A read begun while not listening is not shared.
   */
  shared<T>(kind: CacheKind, id: string, since: number, read: () => Promise<T>): Promise<T> {
    if (since < 0) return read();
    const key = `${kind}:${id}`;
    const inFlight = this.reads.get(key);
    if (inFlight?.since === since) return inFlight.result as Promise<T>;
    const entry: Read = { since, result: read() };
    this.reads.set(key, entry);
    const done = () => {
      if (this.reads.get(key) === entry) this.reads.delete(key);
    };
    entry.result.then(done, done);
    return entry.result as Promise<T>;
  }

  /** Stores a check read since `begin`, for at most the TTL and never past `notAfter` (an expiry). */
  set(kind: CacheKind, id: string, userId: string, value: unknown, since: number, notAfter = Infinity): void {
    if (since < 0 || since !== this.generation || !this.listener.isListening()) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    const until = Math.min(Date.now() + ENTRY_TTL_MS, notAfter);
    this.entries.set(`${kind}:${id}`, { userId, value, until });
  }

  /** Drops one check (e.g. this process just ended the session). */
  forget(kind: CacheKind, id: string): void {
    this.generation++;
    this.entries.delete(`${kind}:${id}`);
  }

  private onNotify(payload: string): void {
    const colon = payload.indexOf(':');
    const what = payload.slice(0, colon);
    const id = payload.slice(colon + 1);
    if (what === 'sync') this.answer(id);
    else if (what === 'ack') this.acks.get(id)?.();
    else if (what === 'session' || what === 'token') this.forget(what, id);
    else if (what === 'user') this.forgetUser(id);
    else this.clear(); // unknown: be safe
  }

  private forgetUser(userId: string): void {
    this.generation++;
    for (const [key, e] of this.entries) if (e.userId === userId) this.entries.delete(key);
  }

  /** Tells whoever sent a marker that this process has heard everything before it. */
  private answer(marker: string): void {
    this.db.$client.query('SELECT pg_notify($1, $2)', [AUTH_CHANNEL, `ack:${marker}`]).catch(() => {});
  }

  private clear(): void {
    this.generation++;
    this.entries.clear();
  }

  async close(): Promise<void> {
    await this.listener.stop();
    this.clear();
  }
}

/** Begins a check's read and runs or joins it on `cache`, or just runs it without one; `since` goes to `set`. */
export async function readCheck<T>(
  cache: AuthCache | undefined,
  kind: CacheKind,
  id: string,
  read: () => Promise<T>,
): Promise<{ since: number; loaded: T }> {
  if (!cache) return { since: -1, loaded: await read() };
  const since = cache.begin();
  return { since, loaded: await cache.shared(kind, id, since, read) };
}
