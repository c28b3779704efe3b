import { setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, type Job, type Processor } from 'bullmq';
import { ZodError } from 'zod';
import type { Logger } from '../config.ts';
import { Batcher } from '../db/batch.ts';
import type { Db } from '../db/client.ts';
import { claimJobs, type Ended, type Finish, finishAttempts } from '../db/job-batches.ts';
import { type ClaimedJob, renewLease, setPid } from '../db/jobs.ts';
import { type LockHolder, releaseTarget, setWaiting, tryLockTarget } from '../db/locks.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { JobCancelledError, JobValidationError, UnrecoverableError, WorkerShutdownError } from '../jobs/lib/errors.ts';
import type { JobContext, KindEnv } from '../jobs/lib/kind.ts';
import type { EndedJob } from '../jobs/lib/notifier.ts';
import type { JobPayload } from '../jobs/lib/queue.ts';
import { execInGroup } from './exec.ts';
import { holdThroughOutage } from './hold.ts';
import { JobJournal } from './journal.ts';
import type { HandlerRegistry } from './kinds/handler.ts';
import type { Redactor } from './redactor.ts';

export interface RunnerDeps {
  db: Db;
  registry: HandlerRegistry;
  env: KindEnv;
  /** `host:pid:random`, written as the lease owner. */
  owner: string;
  leaseMs: number;
  cancelGraceMs: number;
  outputCapBytes: number;
  log: Logger;
  /** After a terminal state is committed by this worker (notifications), with what the commit saw; never throws. */
  onEnded?: (job: EndedJob, ended: Ended) => Promise<void>;
}

const LOCK_POLL_MS = 250;
/** A job whose claim could not reach the database goes back to BullMQ for about this long. */
const CLAIM_RETRY_MS = 1000;

class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

const canRunJobs = (role: string) => role === 'operator' || role === 'admin';

/** Only these reach the user as-is; anything else may carry internals, so it is summarised. */
function describe(err: unknown): string {
  if (err instanceof ZodError) return `invalid stored request: ${err.issues.map((i) => i.message).join('; ')}`;
  return err instanceof Error ? err.message : String(err);
}

/** The same error for BullMQ, its message redacted (BullMQ stores it in the queue). */
function redactedError(err: unknown, redactor: Redactor): Error {
  const message = err instanceof Error ? err.message : String(err);
  const clean = redactor.redact(message);
  if (err instanceof Error && clean === message) return err;
  const copy = new Error(clean);
  copy.name = err instanceof Error ? err.name : 'Error';
  return copy;
}

function isUnrecoverable(err: unknown): boolean {
  return err instanceof UnrecoverableError || err instanceof JobValidationError || err instanceof ZodError;
}

/** Environment for child processes: nothing of Deckhand's own (no database URL, no secrets). */
function childEnv(jobId: string, extra?: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    DECKHAND_JOB_ID: jobId,
    ...extra,
  };
}

export function createRunner(deps: RunnerDeps) {
  const active = new Map<string, AbortController>();
  // Concurrent claims and finishes of this worker's jobs share statements (and commits).
  const claims = new Batcher<string, ClaimedJob | null>((ids) => claimJobs(deps.db, ids, deps.owner, deps.leaseMs));
  const finishes = new Batcher<Finish, Ended | null>((f) => finishAttempts(deps.db, deps.owner, f));
  const finishAttempt = (id: string, status: Finish['status'], outcome: { result?: unknown; error?: string }) =>
    finishes.push({ id, status, ...outcome });
  const heartbeatMs = Math.min(1000, Math.floor(deps.leaseMs / 3));

  function startHeartbeat(id: string, ac: AbortController): NodeJS.Timeout {
    let renewing = false; // during an outage a renewal can take seconds; never stack them up
    return setInterval(async () => {
      if (renewing) return;
      renewing = true;
      try {
        const lease = await renewLease(deps.db, id, deps.owner, deps.leaseMs);
        if (!lease.owned) ac.abort(new LeaseLostError('the lease on this job was lost'));
        else if (lease.cancelRequested) ac.abort(new JobCancelledError('cancelled by a user'));
      } catch (err) {
        deps.log.warn({ err: String(err), jobId: id }, 'lease renewal failed');
      } finally {
        renewing = false;
      }
    }, heartbeatMs);
  }

  /** A write about a running job that must land even if PostgreSQL is briefly away. */
  const held = <T>(jobId: string, what: string, write: () => Promise<T>) =>
    holdThroughOutage(write, deps.log, what, { jobId });

  function contextFor(job: ClaimedJob, signal: AbortSignal, journal: JobJournal): JobContext {
    return {
      jobId: job.id,
      attempt: job.attempt,
      signal,
      progress: (percent, step = null) => journal.progress(percent, step),
      output: (stream, text) => journal.output(stream, text),
      redact: (values) => journal.redact(values),
      exec: (file, args, opts) => {
        // Redacted per stream as it flows; what a stream still holds back goes out once the process is gone.
        const out = opts.quiet ? null : journal.process();
        return execInGroup(file, args, {
          cwd: opts.cwd,
          env: childEnv(job.id, opts.env),
          timeoutMs: opts.timeoutMs,
          graceMs: deps.cancelGraceMs,
          signal: opts.unstoppable ? new AbortController().signal : signal,
          // The reaper finds a dead worker's processes by this pid, so it is written even after an outage.
          onSpawn: (pid) => void held(job.id, 'pid', () => setPid(deps.db, job.id, deps.owner, pid)).catch(() => {}),
          onStdout: (chunk) => out?.stdout(chunk),
          onStderr: (chunk) => out?.stderr(chunk),
        }).finally(() => out?.end());
      },
    };
  }

  /** Error messages are redacted: one may quote a process's output, a secret-bearing URL or a value. */
  async function settle(job: ClaimedJob, err: unknown, redactor: Redactor): Promise<void> {
    const end = async (status: 'failed' | 'cancelled' | 'retrying', error: string) => {
      const ended = await held(job.id, 'final status', () =>
        finishAttempt(job.id, status, { error: redactor.redact(error) }),
      );
      if (ended && status !== 'retrying')
        await deps.onEnded?.({ ...job, status, error: redactor.redact(error) }, ended);
    };
    if (err instanceof LeaseLostError) return; // the reaper has already recorded it as lost
    if (err instanceof JobCancelledError) return void (await end('cancelled', 'cancelled by a user'));
    if (err instanceof WorkerShutdownError) return void (await end('failed', err.message));
    if (isUnrecoverable(err) || job.attempt >= job.maxAttempts) return void (await end('failed', describe(err)));
    await end('retrying', describe(err));
    // BullMQ schedules the next attempt with the kind's backoff, and keeps the message as the job's failedReason.
    throw redactedError(err, redactor);
  }

  /** One lock per target across all kinds: wait (as `waiting`, naming the holder) until it is ours. */
  async function lockTarget(job: ClaimedJob & { target: string }, signal: AbortSignal): Promise<void> {
    const tryLock = () => held(job.id, 'target lock', () => tryLockTarget(deps.db, job.target, job.id));
    let holder = await tryLock();
    if (!holder) return;
    const step = (h: LockHolder) => `waiting for ${job.target}: held by job ${h.jobId} (${h.kind})`;
    const first = holder;
    await held(job.id, 'waiting', () => setWaiting(deps.db, job.id, deps.owner, true, step(first)));
    while (holder) {
      await sleep(LOCK_POLL_MS, undefined, { signal }).catch(() => {
        throw signal.reason;
      });
      holder = await tryLock();
    }
    await held(job.id, 'waiting', () => setWaiting(deps.db, job.id, deps.owner, false, null));
  }

  async function run(job: ClaimedJob): Promise<void> {
    const ac = new AbortController();
    active.set(job.id, ac);
    const heartbeat = startHeartbeat(job.id, ac);
    const journal = new JobJournal(deps.db, job.id, deps.outputCapBytes, deps.log);
    try {
      if (job.target) await lockTarget({ ...job, target: job.target }, ac.signal);
      const kind = deps.registry.get(job.kind);
      if (!kind) throw new UnrecoverableError(`unknown job kind: ${job.kind}`);
      if (!canRunJobs(job.role)) throw new UnrecoverableError(`${job.username} may no longer run jobs`);
      // The kind's own rule (e.g. only admins stop a service), against the requester's role as it is now.
      if (kind.adminOnly?.(job) && job.role !== 'admin') {
        throw new UnrecoverableError(`${job.username} is no longer an admin, which this ${job.kind} job needs`);
      }
      const req = kind.request.parse(kind.fromStored(job));
      const result = await kind.run(contextFor(job, ac.signal, journal), req, deps.env);
      await journal.close();
      const ended = await held(job.id, 'final status', () =>
        finishAttempt(job.id, 'succeeded', {
          result: journal.redactor.redactDeep(result ?? null),
        }),
      );
      if (ended) await deps.onEnded?.({ ...job, status: 'succeeded', error: null }, ended);
    } catch (err) {
      await journal.close();
      await settle(job, ac.signal.aborted ? ac.signal.reason : err, journal.redactor);
    } finally {
      clearInterval(heartbeat);
      active.delete(job.id);
      if (job.target) await releaseTarget(deps.db, job.target, job.id).catch(() => {});
    }
  }

  /**
   * A claim that cannot reach the database must not use up the BullMQ attempt, or BullMQ would
   * fail the job while its row stays `queued`: it goes back to the queue, delayed, untouched.
   */
  async function claim(bullJob: Job<JobPayload>, token: string | undefined): Promise<ClaimedJob | null> {
    try {
      return await claims.push(bullJob.data.id);
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      deps.log.warn(
        { jobId: bullJob.data.id, err: String(err) },
        'claim could not reach the database: job back to the queue',
      );
      await bullJob
        .moveToDelayed(Date.now() + CLAIM_RETRY_MS + Math.round(Math.random() * CLAIM_RETRY_MS), token)
        .catch(() => {
          // The queue is down too (BullMQ on the same PostgreSQL): the job's queue lock lapses, BullMQ
          // fails it as stalled, and the reconciler sees a `queued` row without a live job and re-adds it.
        });
      throw new DelayedError();
    }
  }

  const processor: Processor<JobPayload> = async (bullJob: Job<JobPayload>, token?: string) => {
    const job = await claim(bullJob, token);
    if (!job) return { skipped: true }; // cancelled, already ended, or held by another worker
    deps.log.info({ jobId: job.id, kind: job.kind, attempt: job.attempt }, 'job started');
    await run(job);
    return { ran: true };
  };

  return {
    processor,
    activeCount: () => active.size,
    /** Stops every running job (their processes are killed) with the given reason. */
    abortAll(reason: Error) {
      for (const ac of active.values()) ac.abort(reason);
    },
  };
}
