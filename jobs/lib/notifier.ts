import type { Logger } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { getJob, type JobRow } from '../../db/job-reads.ts';
import { insertQueuedJob } from '../../db/jobs.ts';
import { deployRolledBack, type FiringRule, firingRules } from '../../db/notifications.ts';
import { jobTitle } from '../../views/job-title.ts';
import notify, { type EventFacts, type NotifyEvent } from '../notify.ts';
import type { Producer } from './queue.ts';

/**
 * Turns what happened (a job ended, a target restarted on its own, a certificate nears its end)
 * into one `notify` job per matching rule, through the shared job path: the row is committed
 * first (with its audit row), then enqueued; a row the queue refused stays `queued` and the
 * reconciler enqueues it later. Each delivery has an idempotency key, so an event seen twice
 * (two reapers, a repeated sample) notifies once.
 */
export interface Notifier {
  /**
   * After a job's terminal state is committed, by the worker that ran it (it knows the job: no read).
   * `ruleEvents`, when given, are the events some enabled rule listened for as of that commit
   * (db/job-batches.ts): no other event can fire, so it is not looked up.
   */
  jobEnded(job: EndedJob, ruleEvents?: ReadonlySet<string>): Promise<void>;
  /** After jobs' terminal states are committed elsewhere (the reaper's `lost`). */
  jobsEnded(ids: readonly string[]): Promise<void>;
  /** After a status sample is committed: unexpected restarts, and certificates' remaining days. */
  targetsSampled(s: TargetSample): Promise<void>;
}

/** What the notifications about an ended job say; `error` is already redacted. */
export type EndedJob = Pick<JobRow, 'id' | 'kind' | 'target' | 'script' | 'params' | 'status' | 'error'>;

export interface TargetSample {
  restarts: { target: string; newPid: number | null; startedAt: string | null; detail: string }[];
  certs: { target: string; daysLeft: number; expiresAt: string }[];
}

export interface NotifierDeps {
  db: Db;
  producer: Pick<Producer, 'add'>;
  log: Logger;
  /** DECKHAND_NOTIFY_BACKOFF_MS: the first retry delay of a delivery. */
  backoffMs: number;
}

const JOB_EVENTS: Record<string, NotifyEvent> = { failed: 'job.failed', lost: 'job.lost', succeeded: 'job.succeeded' };

function jobFacts(job: EndedJob, event: NotifyEvent): EventFacts {
  const title = jobTitle(job);
  const what = event === 'deploy.rolled_back' ? 'rolled back' : job.status;
  return {
    summary: `${title}: ${what}`,
    detail: job.error,
    target: job.target,
    kind: job.kind,
    job: job.id,
    daysLeft: null,
  };
}

export function createNotifier(deps: NotifierDeps): Notifier {
  async function deliver(rule: FiringRule, event: NotifyEvent, facts: EventFacts, key: string): Promise<void> {
    const id = await insertQueuedJob(deps.db, {
      kind: notify.name,
      target: null, // a delivery never takes a target's lock
      script: null,
      params: { channel: rule.channelId, rule: rule.id, event, facts },
      maxAttempts: notify.retry.attempts,
      requestedBy: rule.owner,
      actorName: rule.ownerName,
      idempotencyKey: `notify:${rule.id}:${key}`,
      retryOf: null,
      auditDetails: {
        kind: notify.name,
        event,
        rule: rule.id,
        channel: rule.channelId,
        job: facts.job,
        target: facts.target,
      },
    });
    if (!id) return; // already delivered for this event
    await deps.producer
      .add(notify.name, id, { attempts: notify.retry.attempts, backoffMs: deps.backoffMs })
      .catch((err: unknown) =>
        deps.log.warn({ err: String(err), jobId: id }, 'notify job recorded but not enqueued; the reconciler will'),
      );
  }

  async function fire(
    event: NotifyEvent,
    facts: EventFacts,
    key: string,
    jobEvent: boolean,
    keep = (_r: FiringRule) => true,
  ) {
    const rules = await firingRules(deps.db, event, {
      target: facts.target,
      kind: jobEvent ? facts.kind : null,
      jobEvent,
    });
    for (const rule of rules.filter(keep)) await deliver(rule, event, facts, key);
  }

  /** A `notify` job's own end never notifies (no loops). */
  async function jobEnded(job: EndedJob, ruleEvents?: ReadonlySet<string>): Promise<void> {
    if (job.kind === notify.name) return;
    const event = JOB_EVENTS[job.status];
    if (!event) return; // cancelled: a person did it
    const mayFire = (e: NotifyEvent) => !ruleEvents || ruleEvents.has(e);
    if (mayFire(event)) await fire(event, jobFacts(job, event), `${job.id}:${event}`, true);
    if (job.kind === 'deploy' && mayFire('deploy.rolled_back') && (await deployRolledBack(deps.db, job.id))) {
      await fire('deploy.rolled_back', jobFacts(job, 'deploy.rolled_back'), `${job.id}:rolled_back`, true);
    }
  }

  /** Never throws: a notification that cannot be recorded is logged, and never fails the job it is about. */
  const guarded = async (what: string, f: () => Promise<void>) => {
    await f().catch((err: unknown) =>
      deps.log.warn({ err: String(err) }, `could not record notifications for ${what}`),
    );
  };

  return {
    jobEnded: (job, ruleEvents) => guarded(`job ${job.id}`, () => jobEnded(job, ruleEvents)),
    async jobsEnded(ids) {
      for (const id of ids) {
        await guarded(`job ${id}`, async () => {
          const job = await getJob(deps.db, id);
          if (job) await jobEnded(job);
        });
      }
    },
    async targetsSampled(s) {
      for (const r of s.restarts) {
        const facts: EventFacts = {
          summary: `${r.target} restarted unexpectedly`,
          detail: r.detail,
          target: r.target,
          kind: null,
          job: null,
          daysLeft: null,
        };
        const key = `restart:${r.target}:${r.newPid}:${r.startedAt}`;
        await guarded(`a restart of ${r.target}`, () => fire('target.restarted', facts, key, false));
      }
      for (const c of s.certs) {
        const facts: EventFacts = {
          summary: `the certificate of ${c.target} expires in ${c.daysLeft} days (${c.expiresAt})`,
          detail: null,
          target: c.target,
          kind: null,
          job: null,
          daysLeft: c.daysLeft,
        };
        // Once per certificate and rule: a renewed certificate has another expiry, so it is a new event.
        const key = `cert:${c.target}:${c.expiresAt}`;
        await guarded(`the certificate of ${c.target}`, () =>
          fire('cert.expiring', facts, key, false, (rule) => c.daysLeft < rule.certDays),
        );
      }
    },
  };
}
