import { ZodError, z } from 'zod';
import type { Logger } from '../config.ts';
import type { Db } from '../db/client.ts';
import {
  answerHostRequest,
  claimHostRequest,
  type HostRequestError,
  openHostRequests,
  REQUEST_CHANNEL,
  sweepHostRequests,
} from '../db/host-requests.ts';
import { listenChannel } from '../db/listen.ts';
import { HOST_READ_TIMEOUT_MS, HostReadError, type HostReadKind } from '../jobs/lib/host-reads.ts';

/** Answers one live read; throws HostReadError (or a ZodError for bad params) to refuse it. */
export type HostReadHandler = (params: Record<string, unknown>) => Promise<unknown>;
export type HostReadHandlers = Partial<Record<HostReadKind, HostReadHandler>>;

export interface HostServerOptions {
  /** DECKHAND_HOST_NAME: this worker serves reads addressed to this host only. */
  host: string;
  /** The lease-owner style name of this worker process. */
  worker: string;
  handlers: HostReadHandlers;
  log: Logger;
  /** Reads answered at once by this process; more wait for another worker or the next look. */
  maxInFlight?: number;
}

/** Reads remembered while all in-flight places are taken; beyond this the periodic look finds them. */
const MAX_BACKLOG = 1000;

/** Unclaimed requests are looked for this often, in case a NOTIFY was missed. */
const SWEEP_MS = 1000;

function refusal(err: unknown, log: Logger, kind: string): HostRequestError {
  if (err instanceof HostReadError)
    return { status: err.status, code: err.code, message: err.message, details: err.details };
  if (err instanceof ZodError)
    return { status: 400, code: 'invalid_request', message: 'invalid read', details: z.flattenError(err) };
  log.error({ err, kind }, 'host read failed');
  return { status: 502, code: 'host_error', message: `the worker could not answer this ${kind} read` };
}

/** The worker's side of the host seam (DESIGN §9): claims reads for its host and answers them. */
export function startHostServer(db: Db, o: HostServerOptions): { stop(): Promise<void> } {
  const inFlight = new Set<string>();
  // Reads past the in-flight limit wait here, in arrival order, and start as others finish.
  const backlog = new Set<string>();
  const maxInFlight = o.maxInFlight ?? 16;
  // A request older than the asker's patience is not worth answering.
  const maxAgeMs = HOST_READ_TIMEOUT_MS * 2;

  async function serve(id: string): Promise<void> {
    if (inFlight.has(id) || backlog.has(id)) return;
    if (inFlight.size >= maxInFlight) {
      if (backlog.size < MAX_BACKLOG) backlog.add(id);
      return;
    }
    inFlight.add(id);
    try {
      const req = await claimHostRequest(db, id, o.host, o.worker, maxAgeMs);
      if (!req) return;
      const handler = o.handlers[req.kind as HostReadKind];
      try {
        if (!handler) throw new HostReadError(400, 'unknown_read', `this worker does not answer ${req.kind} reads`);
        await answerHostRequest(db, id, { reply: await handler(req.params) });
      } catch (err) {
        await answerHostRequest(db, id, { error: refusal(err, o.log, req.kind) });
      }
    } catch (err) {
      o.log.warn({ err, id }, 'could not serve a host read');
    } finally {
      inFlight.delete(id);
      const next = backlog.values().next();
      if (!next.done) {
        backlog.delete(next.value);
        void serve(next.value);
      }
    }
  }

  async function sweep(): Promise<void> {
    for (const id of await openHostRequests(db, o.host, maxAgeMs)) void serve(id);
    await sweepHostRequests(db, maxAgeMs * 6);
  }

  const listener = listenChannel(
    db,
    o.log,
    REQUEST_CHANNEL,
    (payload) => {
      const [host, id] = payload.split(' ');
      if (host === o.host && id) void serve(id);
    },
    () => void sweep().catch(() => {}),
  );
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweep()
      .catch((err) => o.log.debug({ err }, 'host read sweep failed'))
      .finally(() => {
        sweeping = false;
      });
  }, SWEEP_MS);
  timer.unref();

  return {
    async stop() {
      clearInterval(timer);
      await listener.stop();
    },
  };
}
