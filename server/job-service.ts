import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { audit } from '../db/audit.ts';
import { Batcher, batcherPer } from '../db/batch.ts';
import type { Db } from '../db/client.ts';
import { failUnqueuedJob, findByIdempotencyKey, type RequestShape } from '../db/idempotency.ts';
import { insertQueuedJobs } from '../db/job-batches.ts';
import { getJob, type JobRow } from '../db/job-reads.ts';
import { isTerminal } from '../db/job-states.ts';
import { endIdleJob, type NewJob, requestCancel } from '../db/jobs.ts';
import { busyWith } from '../db/locks.ts';
import type { KindRegistry } from '../jobs/index.ts';
import type { RetryPolicy, StoredRequest } from '../jobs/lib/kind.ts';
import type { SessionUser } from './auth/sessions.ts';
import type { AppDeps } from './context.ts';
import { badRequest, conflict, forbidden, HttpError, notFound, parseOr400 } from './errors.ts';
import { redactParams } from './serialize.ts';

export const jobEnvelope = z.looseObject({
  kind: z.string().min(1).max(40),
  onBusy: z.enum(['wait', 'reject']).optional(),
});

export const idempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII only');

/** A job request's shape: the envelope, then the fields its kind asks for (no live state yet). */
export function parseJobRequest(registry: KindRegistry, body: unknown) {
  const { kind: name, onBusy = 'wait', ...rest } = parseOr400(jobEnvelope, body, 'job request');
  const kind = registry.get(name);
  if (!kind) throw badRequest(`unknown job kind: ${name}`, { kind: [...registry.keys()] });
  return { name, onBusy, kind, req: parseOr400(kind.request, rest, `${name} request`) };
}

/** What creating a job needs: the web tier has it, and so does a worker taking a schedule's tick. */
export type JobDeps = Pick<AppDeps, 'db' | 'producer' | 'registry' | 'env' | 'log'>;

/** Checks a job request against its kind and live state; returns what the jobs row stores. */
export async function resolveRequest(
  deps: JobDeps,
  body: unknown,
): Promise<{ kind: string; onBusy: 'wait' | 'reject' } & StoredRequest> {
  const { name, onBusy, kind, req } = parseJobRequest(deps.registry, body);
  return { kind: name, onBusy, ...(await kind.resolve(req, deps.env)) };
}

/** Concurrent requests of one web process insert their jobs in one statement (one commit). */
const inserts = batcherPer(
  (db: Db) => new Batcher<NewJob & { id: string }, string | null>((jobs) => insertQueuedJobs(db, jobs)),
);

/** The job an earlier request made under this key: the same request gets it back, another one a 422. */
async function earlierJob(deps: JobDeps, user: SessionUser, key: string, request: RequestShape) {
  const earlier = await findByIdempotencyKey(deps.db, user.id, key, request);
  if (!earlier) return null;
  if (!earlier.sameRequest) {
    throw new HttpError(
      422,
      'idempotency_key_reused',
      'this Idempotency-Key was already used for a different request',
      {
        job: earlier.id,
      },
    );
  }
  return { id: earlier.id, created: false };
}

/**
 * Records the job, then enqueues it (DESIGN §2: the database records the job first).
 * If the queue refuses after the commit, the row is ended as failed so nothing runs later
 * unannounced, and its Idempotency-Key is given back so the client's retry runs the job.
 */
export async function submitJob(
  deps: JobDeps,
  user: SessionUser,
  stored: { kind: string; onBusy?: 'wait' | 'reject' } & StoredRequest,
  opts: { idempotencyKey?: string | null; retryOf?: string | null; scheduleId?: string } = {},
): Promise<{ id: string; created: boolean }> {
  const kind = deps.registry.get(stored.kind);
  if (!kind) throw badRequest(`unknown job kind: ${stored.kind}`);
  if (kind.adminOnly?.(stored) && user.role !== 'admin')
    throw forbidden(`only admins may request this ${stored.kind} job`);
  if (!deps.producer.isConnected()) throw new HttpError(503, 'queue_unavailable', 'the job queue is unreachable');
  const key = opts.idempotencyKey ?? null;
  const onBusy = stored.onBusy ?? 'wait';
  const request: RequestShape = { ...stored, onBusy };
  // A repeat is answered before the busy check: the target may be busy with this very job.
  const repeat = key ? await earlierJob(deps, user, key, request) : null;
  if (repeat) return repeat;
  if (onBusy === 'reject' && stored.target) {
    const busy = await busyWith(deps.db, stored.target);
    if (busy)
      throw conflict(`target ${stored.target} is busy with job ${busy.jobId} (${busy.kind}, ${busy.status})`, busy);
  }
  // Two tries: a concurrent request's key may be given back (its enqueue failed) between them.
  for (let tries = 0; tries < 2; tries++) {
    const id = await inserts(deps.db).push({
      id: randomUUID(),
      kind: stored.kind,
      target: stored.target,
      script: stored.script,
      params: stored.params,
      maxAttempts: kind.retry.attempts,
      requestedBy: user.id,
      actorName: user.username,
      idempotencyKey: key,
      onBusy,
      retryOf: opts.retryOf ?? null,
      auditDetails: {
        kind: stored.kind,
        target: stored.target,
        script: stored.script,
        params: redactParams(stored.params),
        ...(opts.scheduleId && { schedule: opts.scheduleId }),
      },
    });
    if (id) return { id: await enqueue(deps, stored.kind, id, kind.retry), created: true };
    const concurrent = key ? await earlierJob(deps, user, key, request) : null;
    if (concurrent) return concurrent;
  }
  throw conflict('idempotency key conflict');
}

async function enqueue(deps: JobDeps, kindName: string, id: string, retry: RetryPolicy): Promise<string> {
  try {
    await deps.producer.add(kindName, id, retry);
    return id;
  } catch (err) {
    // If even this write fails, the row stays queued under its key: the reconciler enqueues it
    // later and the client's retry with the key gets this job, so the row still tells the truth.
    await failUnqueuedJob(deps.db, id, 'the job queue was unreachable; the job was not run').catch((e: unknown) =>
      deps.log.warn({ err: e, jobId: id }, 'could not end a job the queue refused; the reconciler will enqueue it'),
    );
    throw err;
  }
}

export async function loadJob(deps: AppDeps, id: string): Promise<JobRow> {
  const job = z.uuid().safeParse(id).success ? await getJob(deps.db, id) : null;
  if (!job) throw notFound('job');
  return job;
}

/** A job's output, history and controls belong to whoever requested it, and to admins. */
export const ownsJob = (user: SessionUser, job: JobRow): boolean =>
  user.role === 'admin' || job.requestedBy === user.id;

/** Loads a job the caller owns (see ownsJob), or throws 404/403. */
export async function ownedJob(deps: AppDeps, user: SessionUser, id: string): Promise<JobRow> {
  const job = await loadJob(deps, id);
  if (!ownsJob(user, job))
    throw forbidden('only the user who started this job, or an admin, may see its output or act on it');
  return job;
}

export async function cancelJob(deps: AppDeps, user: SessionUser, job: JobRow): Promise<'cancelled' | 'cancelling'> {
  if (isTerminal(job.status)) throw conflict(`the job has already ended (${job.status})`);
  const actor = { id: user.id, name: user.username };
  if (await endIdleJob(deps.db, job.id, 'cancelled', user.username, 'cancelled before it started')) {
    await deps.producer.remove(job.id);
    await audit(deps.db, actor, 'job.cancel', job.id, { was: job.status });
    return 'cancelled';
  }
  if (await requestCancel(deps.db, job.id, user.username)) {
    await audit(deps.db, actor, 'job.cancel', job.id, { was: 'active' });
    return 'cancelling';
  }
  const now = await getJob(deps.db, job.id);
  if (now?.status === 'active') return 'cancelling'; // asked already
  throw conflict(`the job has already ended (${now?.status})`);
}

export async function retryJob(deps: AppDeps, user: SessionUser, job: JobRow) {
  if (!isTerminal(job.status)) throw conflict(`only jobs that have ended can be retried (this one is ${job.status})`);
  const kind = deps.registry.get(job.kind);
  if (!kind) throw badRequest(`unknown job kind: ${job.kind}`);
  const req = parseOr400(kind.request, kind.fromStored(job), 'stored request');
  const stored = await kind.resolve(req, deps.env);
  return submitJob(deps, user, { kind: job.kind, ...stored }, { retryOf: job.id });
}
