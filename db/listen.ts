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

/**
 * Calls `onPayload` for each NOTIFY on `channel` until stopped, on a pooled client of its own;
 * reconnects after errors and calls `onReconnect`, since notifications sent meanwhile are lost.
 * `onLost` is called as soon as a listening connection fails, before any reconnect.
 */
export function listenChannel(
  db: Db,
  log: Logger,
  channel: string,
  onPayload: (payload: string) => void,
  onReconnect: () => void = () => {},
  onLost: () => void = () => {},
): ChannelListener {
  /** The listening client and its one-time release (a dropped connection errors after a stop too). */
  let client: { c: pg.PoolClient; release(destroy: boolean): void } | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let attempts = 0;
  const again = () => {
    if (!stopped) retry = setTimeout(connect, RECONNECT_MS);
  };
  async function connect() {
    let c: pg.PoolClient | null = null;
    let released = false;
    try {
      c = await db.$client.connect();
      const held = c;
      const release = (destroy: boolean) => {
        if (released) return;
        released = true;
        held.release(destroy);
      };
      c.on('notification', (n) => {
        if (n.channel === channel) onPayload(n.payload ?? '');
      });
      c.on('error', (err) => {
        if (released) return;
        log.warn({ err, channel }, 'listening connection lost; reconnecting');
        release(true);
        client = null;
        onLost();
        again();
      });
      await c.query(`LISTEN ${channel}`);
      client = { c, release };
      if (attempts++ > 0) onReconnect();
      if (stopped) await stop();
    } catch (err) {
      if (c && !released) {
        released = true;
        c.release(true);
      }
      log.warn({ err, channel }, 'cannot listen; retrying');
      attempts++;
      again();
    }
  }
  async function stop() {
    stopped = true;
    clearTimeout(retry);
    const current = client;
    client = null;
    if (current) {
      await current.c.query(`UNLISTEN ${channel}`).catch(() => {});
      current.release(false);
    }
  }
  return { ready: connect(), isListening: () => client !== null && !stopped, stop };
}
