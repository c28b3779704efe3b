import type { EventRow, JobRow } from '../db/job-reads.ts';

const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|private/i;

/** Parameters as shown to people and written to audit rows: anything secret-looking is masked. */
export function redactParams(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : v]));
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toApiJob(j: JobRow) {
  return {
    id: j.id,
    kind: j.kind,
    target: j.target,
    script: j.script,
    params: redactParams(j.params),
    status: j.status,
    progress: j.progress,
    step: j.step,
    attempt: j.attempt,
    maxAttempts: j.maxAttempts,
    requestedBy: j.requestedByName,
    createdAt: iso(j.createdAt),
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
    result: j.result ?? null,
    error: j.error,
    retryOf: j.retryOf,
    cancelRequested: j.cancelRequestedAt !== null,
    /** Pruning keeps a pinned job and its output (DESIGN §12). */
    pinned: j.pinned,
    /** When retention deleted its output and progress events (its status events remain), or null. */
    outputPrunedAt: iso(j.outputPrunedAt),
  };
}

export const toApiEvent = (e: EventRow) => ({ seq: e.seq, at: e.at.toISOString(), type: e.type, data: e.data });

/** Opaque keyset cursor over the jobs' insertion number. */
export const encodeCursor = (num: number) => Buffer.from(`n:${num}`).toString('base64url');

export function decodeCursor(cursor: string): number | null {
  const m = /^n:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  return m ? Number(m[1]) : null;
}
