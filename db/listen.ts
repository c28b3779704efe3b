import type pg from 'pg';
import type { Logger } from '../config.ts';
import type { Db } from './client.ts';

const RECONNECT_MS = 2000;

export interface ChannelListener {
  /** Settles after the first attempt to listen (it keeps retrying after a failure). */
  ready: Promise<void>;
  /** True while LISTEN is in force on a live connection; notifications may be missed otherwise. */
  isListening(): boolean;
  stop(): Promise<void>;
}

interface Subscriber {
  channel: string;
  onPayload(payload: string): void;
  onReconnect(): void;
  onLost(): void;
  listening: boolean;
  attempts: number;
  settle(): void;
}

/**
 * Every channel a process listens on shares one pooled connection (the auth cache and the host
 * replies in a web process, control and host requests in a worker): each connection is a
 * PostgreSQL backend of a few MB. Changes to it run one at a time, in order.
 */
class SharedListener {
  private client: { c: pg.PoolClient; release(destroy: boolean): void } | null = null;
  private readonly subs = new Set<Subscriber>();
  private retry: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: Logger,
  ) {}

  add(sub: Subscriber): void {
    this.subs.add(sub);
    this.serially(() => this.listenFor(sub));
  }

  remove(sub: Subscriber): Promise<void> {
    this.subs.delete(sub);
    sub.listening = false;
    return this.serially(async () => {
      if (this.subs.size === 0) clearTimeout(this.retry);
      const current = this.client;
      if (!current) return;
      if (this.subs.size === 0) {
        this.client = null;
        await current.c.query(`UNLISTEN ${sub.channel}`).catch(() => {});
        current.release(false);
      } else if (![...this.subs].some((s) => s.channel === sub.channel)) {
        await current.c.query(`UNLISTEN ${sub.channel}`).catch(() => {});
      }
    });
  }

  private serially(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(step).catch((err) => this.log.warn({ err }, 'listener change failed'));
    return this.chain;
  }

  /** LISTENs for one new subscriber, on the connection there is or one opened now. */
  private async listenFor(sub: Subscriber): Promise<void> {
    if (!this.subs.has(sub) || sub.listening) return sub.settle(); // the connect before this one listened for it
    if (!this.client) return this.connect();
    try {
      await this.client.c.query(`LISTEN ${sub.channel}`);
      this.succeeded(sub);
    } catch (err) {
      // The connection failed under it: its error handler reconnects, and listens for every channel again.
      this.log.warn({ err, channel: sub.channel }, 'cannot listen; retrying');
      sub.attempts++;
      sub.settle();
    }
  }

  private succeeded(sub: Subscriber) {
    sub.listening = true;
    if (sub.attempts++ > 0) sub.onReconnect();
    sub.settle();
  }

  /** Opens the connection and LISTENs for every channel subscribed; on failure, tries again later. */
  private async connect(): Promise<void> {
    if (this.client || this.subs.size === 0) return;
    let c: pg.PoolClient | null = null;
    let released = false;
    try {
      c = await this.pool.connect();
      const held = c;
      const release = (destroy: boolean) => {
        if (released) return;
        released = true;
        held.release(destroy);
      };
      c.on('notification', (n) => {
        for (const s of this.subs) if (s.channel === n.channel && s.listening) s.onPayload(n.payload ?? '');
      });
      c.on('error', (err) => this.lost(err, held, release));
      for (const channel of new Set([...this.subs].map((s) => s.channel))) await c.query(`LISTEN ${channel}`);
      this.client = { c, release };
      for (const s of this.subs) this.succeeded(s);
    } catch (err) {
      if (c && !released) {
        released = true;
        c.release(true);
      }
      this.log.warn({ err, channels: [...this.subs].map((s) => s.channel) }, 'cannot listen; retrying');
      for (const s of this.subs) {
        s.attempts++;
        s.settle();
      }
      this.again();
    }
  }

  private lost(err: unknown, c: pg.PoolClient, release: (destroy: boolean) => void) {
    release(true);
    // Stopped already, or an old connection erring again: a dropped connection errors afterwards too.
    if (this.client?.c !== c) return;
    this.client = null;
    this.log.warn({ err }, 'listening connection lost; reconnecting');
    for (const s of this.subs) {
      s.listening = false;
      s.onLost();
    }
    this.again();
  }

  private again() {
    clearTimeout(this.retry);
    if (this.subs.size > 0) this.retry = setTimeout(() => void this.serially(() => this.connect()), RECONNECT_MS);
  }
}

const shared = new WeakMap<pg.Pool, SharedListener>();

/**
 * Calls `onPayload` for each NOTIFY on `channel` until stopped, on the connection this pool's
 * listeners share; reconnects after errors and calls `onReconnect`, since notifications sent
 * meanwhile are lost. `onLost` is called as soon as the listening connection fails, before any reconnect.
 */
export function listenChannel(
  db: Db,
  log: Logger,
  channel: string,
  onPayload: (payload: string) => void,
  onReconnect: () => void = () => {},
  onLost: () => void = () => {},
): ChannelListener {
  const pool = db.$client;
  let hub = shared.get(pool);
  if (!hub) {
    hub = new SharedListener(pool, log);
    shared.set(pool, hub);
  }
  let settle = () => {};
  const ready = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const sub: Subscriber = { channel, onPayload, onReconnect, onLost, listening: false, attempts: 0, settle };
  hub.add(sub);
  let stopped: Promise<void> | null = null;
  return {
    ready,
    isListening: () => sub.listening,
    stop: () => {
      stopped ??= hub.remove(sub);
      return stopped;
    },
  };
}
