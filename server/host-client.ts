import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../config.ts';
import type { Db } from '../db/client.ts';
import { dropHostRequest, insertHostRequest, REPLY_CHANNEL, takeHostAnswer } from '../db/host-requests.ts';
import { listenChannel } from '../db/listen.ts';
import { HOST_READ_TIMEOUT_MS, type HostReadKind } from '../jobs/lib/host-reads.ts';
import { HttpError } from './errors.ts';

/** A read no worker answered in time: 503 `host_unavailable` (DESIGN §9). */
export const hostUnavailable = (host: string) =>
  new HttpError(503, 'host_unavailable', `no worker is serving host ${host}`, { host });

/** The answer is looked for at least this often, in case a NOTIFY was missed. */
const POLL_MS = 250;

export interface HostClient {
  /** Asks a worker of `host` for a live read; throws 503 host_unavailable after the timeout. */
  read(host: string, kind: HostReadKind, params: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * The web tier's side of the host seam. The request is a row plus a NOTIFY rather than a BullMQ
 * job: it works the same on both queue backends, leaves nothing in the queue's history, and is
 * answered in milliseconds; the row also carries replies larger than a NOTIFY payload (8 kB).
 */
export function createHostClient(db: Db, log: Logger): HostClient {
  const waiting = new Map<string, () => void>();
  const wakeAll = () => {
    for (const wake of waiting.values()) wake();
  };
  const listener = listenChannel(db, log, REPLY_CHANNEL, (id) => waiting.get(id)?.(), wakeAll);

  async function read(
    host: string,
    kind: HostReadKind,
    params: Record<string, unknown>,
    timeoutMs = HOST_READ_TIMEOUT_MS,
  ) {
    const id = await insertHostRequest(db, host, kind, params);
    const deadline = Date.now() + timeoutMs;
    try {
      while (Date.now() < deadline) {
        const answer = await takeHostAnswer(db, id);
        if (answer.answered) {
          if (answer.error)
            throw new HttpError(
              hostErrorStatus(answer.error.status),
              answer.error.code,
              answer.error.message,
              answer.error.details ?? null,
            );
          return answer.reply;
        }
        const ac = new AbortController();
        waiting.set(id, () => ac.abort());
        await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())), undefined, { signal: ac.signal }).catch(
          () => {},
        );
        waiting.delete(id);
      }
    } finally {
      waiting.delete(id);
    }
    await dropHostRequest(db, id).catch(() => {});
    throw hostUnavailable(host);
  }

  return {
    read,
    async close() {
      await listener.stop();
    },
  };
}

function hostErrorStatus(status: unknown): 400 | 403 | 404 | 409 | 413 | 422 | 502 {
  return [400, 403, 404, 409, 413, 422].includes(Number(status)) ? (Number(status) as 400) : 502;
}
