import { createHash } from 'node:crypto';
import type { EventRow, JobRow } from '../db/job-reads.ts';
import { isTerminal } from '../db/job-states.ts';
import { confirmAttrs } from './confirm.tsx';
import { duration, relativeTime, Time } from './time.tsx';

/**
 * What a job's live fragment shows, as a short digest that its next poll sends back (`v`): when it
 * still matches and no event came since the poll's cursor, the poll is answered 204 (htmx swaps
 * nothing) without rendering. Every column is in it but the three a worker rewrites unseen while it
 * runs (lease and pid) and the three that may hold secrets and never change while it polls (a
 * result comes with the terminal status), with the viewer's right to act and the relative times as
 * they read now, so any change the fragment would show is a new digest and a full 200: nothing
 * stale is ever kept.
 */
export function liveVersion(job: JobRow, canAct: boolean, lastSeq: number, now: Date = new Date()): string {
  // Never in it: parameters, result and idempotency key may hold secrets, and the digest is in the page.
  const { leaseOwner: _o, leaseExpiresAt: _e, pid: _p, params: _a, result: _r, idempotencyKey: _k, ...shown } = job;
  const times = [job.startedAt, job.finishedAt].map((d) => (d ? relativeTime(d, now) : ''));
  return createHash('sha256')
    .update(JSON.stringify([shown, canAct, lastSeq, times]))
    .digest('base64url')
    .slice(0, 22);
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge s-${status}`}>{status}</span>;
}

export function OutputChunks({ events }: { events: EventRow[] }) {
  return (
    <>
      {events.map((e) => (
        <span class={e.data.stream === 'stderr' ? 'stderr' : 'stdout'}>{String(e.data.text ?? '')}</span>
      ))}
    </>
  );
}

/** Each new step the job reported, once (a step that repeats with a new percentage is shown once). */
export function StepItems({ events }: { events: EventRow[] }) {
  const changed = events.filter((e, i) => i === 0 || e.data.step !== events[i - 1]?.data.step);
  return (
    <>
      {changed.map((e) => (
        <li>
          <span class="muted">
            <Time at={e.at} />
          </span>{' '}
          {String(e.data.step)} <span class="muted">({String(e.data.progress)}%)</span>
        </li>
      ))}
    </>
  );
}

/** Status, progress and controls of one job, plus any new steps and output; polls until terminal. */
export function JobLive(p: {
  job: JobRow;
  canAct: boolean;
  lastSeq: number;
  newOutput?: EventRow[];
  newSteps?: EventRow[];
}) {
  const { job } = p;
  const terminal = isTerminal(job.status);
  const poll = terminal
    ? {}
    : {
        'hx-get': `/fragments/jobs/${job.id}/live?after=${p.lastSeq}&v=${liveVersion(job, p.canAct, p.lastSeq)}`,
        'hx-trigger': 'every 1s',
        'hx-swap': 'outerHTML',
      };
  return (
    <>
      <div id="job-live" data-status={job.status} {...poll}>
        <p>
          <StatusBadge status={job.status} /> attempt {job.attempt} of {job.maxAttempts}
          {job.cancelRequestedAt && !terminal && ' · cancelling…'}
        </p>
        <p class="muted">
          started <Time at={job.startedAt} /> · finished <Time at={job.finishedAt} />
          {job.startedAt && job.finishedAt && (
            <>
              {' '}
              · took <span id="job-duration">{duration(job.finishedAt.getTime() - job.startedAt.getTime())}</span>
            </>
          )}
        </p>
        <progress id="job-progress" max="100" value={String(job.progress)} />{' '}
        <span id="job-percent">{job.progress}%</span>
        <p id="job-step">{job.step ?? ''}</p>
        {job.error && <p class="error">{job.error}</p>}
        {p.canAct && (
          <p>
            {!terminal && (
              <button
                type="button"
                class="danger"
                hx-post={`/api/jobs/${job.id}/cancel`}
                hx-swap="none"
                {...confirmAttrs({
                  message: 'Cancel this job? Its process is stopped.',
                  action: 'Cancel job',
                  danger: true,
                })}
              >
                Cancel
              </button>
            )}
            {terminal && (
              // The same request again as a new, audited job that records this one as its origin.
              <button type="button" hx-post={`/api/jobs/${job.id}/retry`} hx-swap="none">
                {job.status === 'succeeded' ? 'Run again' : 'Retry'}
              </button>
            )}
          </p>
        )}
      </div>
      {p.newSteps && p.newSteps.length > 0 && (
        <hx-partial hx-target="#job-steps" hx-swap="beforeend">
          <StepItems events={p.newSteps} />
        </hx-partial>
      )}
      {p.newOutput && p.newOutput.length > 0 && (
        <hx-partial hx-target="#output" hx-swap="beforeend">
          <OutputChunks events={p.newOutput} />
        </hx-partial>
      )}
    </>
  );
}
