import type pg from 'pg';
import { z } from 'zod';
import type { Logger } from '../config.ts';
import type { Db } from './client.ts';

/**
 * Messages between Deckhand's own processes over PostgreSQL LISTEN/NOTIFY: a
 * worker that deployed Deckhand asks the web tier's supervisor for a rolling
 * restart and the worker processes to make way for fresh ones; a cert-reload
 * of Deckhand's own certificate asks every web process to load the new pair.
 */
const CHANNEL = 'deckhand_control';

const controlMessage = z.object({
  type: z.enum(['restart-web', 'recycle-workers', 'reload-tls']),
  by: z.string().max(200),
});
export type ControlMessage = z.infer<typeof controlMessage>;

export async function sendControl(db: Db, message: ControlMessage): Promise<void> {
  await db.$client.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(message)]);
}

const RECONNECT_MS = 5000;

export interface ControlListener {
  /** Settles after the first attempt to listen (it keeps retrying after a failure). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/** Calls `onMessage` for each control message until stopped; reconnects after errors. */
export function listenControl(db: Db, log: Logger, onMessage: (m: ControlMessage) => void): ControlListener {
  let client: pg.PoolClient | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    try {
      const c = await db.$client.connect();
      c.on('notification', (n) => {
        let data: unknown = null;
        try {
          data = JSON.parse(n.payload ?? 'null');
        } catch {}
        const parsed = controlMessage.safeParse(data);
        if (parsed.success) onMessage(parsed.data);
        else log.warn({ payload: n.payload }, 'ignored a malformed control message');
      });
      c.on('error', (err) => {
        log.warn({ err }, 'control channel lost; reconnecting');
        c.release(true);
        client = null;
        if (!stopped) retry = setTimeout(connect, RECONNECT_MS);
      });
      await c.query(`LISTEN ${CHANNEL}`);
      client = c;
      if (stopped) await stop();
    } catch (err) {
      log.warn({ err }, 'cannot listen for control messages; retrying');
      if (!stopped) retry = setTimeout(connect, RECONNECT_MS);
    }
  };
  const stop = async () => {
    stopped = true;
    clearTimeout(retry);
    const c = client;
    client = null;
    if (c) {
      await c.query(`UNLISTEN ${CHANNEL}`).catch(() => {});
      c.release();
    }
  };
  return { ready: connect(), stop };
}
