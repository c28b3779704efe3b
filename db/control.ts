import { z } from 'zod';
import type { Logger } from '../config.ts';
import type { Db } from './client.ts';
import { type ChannelListener, listenChannel } from './listen.ts';

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

export type { ChannelListener as ControlListener } from './listen.ts';

/** Calls `onMessage` for each control message until stopped; reconnects after errors. */
export function listenControl(db: Db, log: Logger, onMessage: (m: ControlMessage) => void): ChannelListener {
  return listenChannel(db, log, CHANNEL, (payload) => {
    let data: unknown = null;
    try {
      data = JSON.parse(payload);
    } catch {}
    const parsed = controlMessage.safeParse(data);
    if (parsed.success) onMessage(parsed.data);
    else log.warn({ payload }, 'ignored a malformed control message');
  });
}
