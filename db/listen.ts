import type pg from 'pg';
import type { Logger } from '../config.ts';
import type { Db } from './client.ts';

const RECONNECT_MS = 2000;

export interface ChannelListener {
  /** Settles after the first attempt to listen (it keeps retrying after a failure). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Calls `onPayload` for each NOTIFY on `channel` until stopped, on a pooled client of its own;
 * reconnects after errors and calls `onReconnect`, since notifications sent meanwhile are lost.
 */
export function listenChannel(
  db: Db,
  log: Logger,
  channel: string,
  onPayload: (payload: string) => void,
  onReconnect: () => void = () => {},
): ChannelListener {
  let client: pg.PoolClient | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let attempts = 0;
  const again = () => {
    if (!stopped) retry = setTimeout(connect, RECONNECT_MS);
  };
  async function connect() {
    try {
      const c = await db.$client.connect();
      c.on('notification', (n) => {
        if (n.channel === channel) onPayload(n.payload ?? '');
      });
      c.on('error', (err) => {
        log.warn({ err, channel }, 'listening connection lost; reconnecting');
        c.release(true);
        client = null;
        again();
      });
      await c.query(`LISTEN ${channel}`);
      client = c;
      if (attempts++ > 0) onReconnect();
      if (stopped) await stop();
    } catch (err) {
      log.warn({ err, channel }, 'cannot listen; retrying');
      attempts++;
      again();
    }
  }
  async function stop() {
    stopped = true;
    clearTimeout(retry);
    const c = client;
    client = null;
    if (c) {
      await c.query(`UNLISTEN ${channel}`).catch(() => {});
      c.release();
    }
  }
  return { ready: connect(), stop };
}
