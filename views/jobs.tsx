import type { EventRow, JobRow } from '../db/job-reads.ts';
import { isTerminal } from '../db/job-states.ts';
import type { SessionUser } from '../server/auth/sessions.ts';
import { JobLive, OutputChunks, StatusBadge, StepItems } from './job-live.tsx';
import { jobTitle, shownParams } from './job-title.ts';
import { Layout } from './layout.tsx';
import { Overview } from './targets.tsx';
import { Time } from './time.tsx';
import type { HostCardView, TargetRowView } from './types.ts';

const subject = (j: JobRow) => j.target ?? j.script ?? '—';

/** One dashboard row; it polls itself until the job is terminal. */
export function JobRowView({ job }: { job: JobRow }) {
  const poll = isTerminal(job.status)
    ? {}
    : { 'hx-get': `/fragments/jobs/${job.id}/row`, 'hx-trigger': 'every 2s', 'hx-swap': 'outerHTML' };
  return (
    <tr id={`job-${job.id}`} data-status={job.status} {...poll}>
      <td data-label="Job">
        <a href={`/jobs/${job.id}`}>{jobTitle(job)}</a>
      </td>
      <td data-label="Kind">{job.kind}</td>
      <td data-label="Target / script">{subject(job)}</td>
      <td data-label="Status">
        <StatusBadge status={job.status} />
      </td>
      <td data-label="Progress">
        <progress max="100" value={String(job.progress)} /> {job.progress}%
      </td>
      <td data-label="By">{job.requestedByName}</td>
      <td data-label="Created">
        <Time at={job.createdAt} />
      </td>
    </tr>
  );
}

/** Polls for jobs newer than `afterNum` and prepends them to the table. */
export function NewerJobsPoller({ afterNum }: { afterNum: number }) {
  return (
    <div id="newer-jobs" hx-get={`/fragments/jobs/newer?after=${afterNum}`} hx-trigger="every 3s" hx-swap="outerHTML" />
  );
}

export function Dashboard(p: {
  hosts: HostCardView[];
  targets: TargetRowView[];
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  jobs: JobRow[];
  olderCursor: string | null;
  newest: boolean;
}) {
  return (
    <Layout title="Dashboard" user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <Overview hosts={p.hosts} rows={p.targets} user={p.user} />
      <section class="card">
        <h2>Recent jobs</h2>
        {p.newest && <NewerJobsPoller afterNum={p.jobs[0]?.num ?? 0} />}
        <table>
          <thead>
            <tr>
              <th>Job</th>
              <th>Kind</th>
              <th>Target / script</th>
              <th>Status</th>
              <th>Progress</th>
              <th>By</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody id="job-rows">
            {p.jobs.map((j) => (
              <JobRowView job={j} />
            ))}
          </tbody>
        </table>
        {p.jobs.length === 0 && <p class="muted">No jobs yet. Run one from the Scripts page.</p>}
        <p>
          {!p.newest && <a href="/">Newest</a>}{' '}
          {p.olderCursor && <a href={`/?cursor=${p.olderCursor}`}>Older jobs →</a>}
        </p>
      </section>
    </Layout>
  );
}

export function JobPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  job: JobRow;
  /** The job's parameters as the server redacted them. */
  params: Record<string, unknown>;
  canAct: boolean;
  output: EventRow[] | null;
  steps: EventRow[];
  lastSeq: number;
}) {
  const { job } = p;
  const params = shownParams(job.kind, p.params);
  return (
    <Layout title={jobTitle(job)} user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <section class="card">
        <dl>
          <dt>Job</dt>
          <dd>
            <code>{job.id}</code> ({job.kind})
          </dd>
          <dt>{job.target ? 'Target' : 'Script'}</dt>
          <dd>{job.target ? <a href={`/targets/${encodeURIComponent(job.target)}`}>{job.target}</a> : subject(job)}</dd>
          {params.length > 0 && (
            <>
              <dt>Parameters</dt>
              <dd>
                <dl id="job-params" class="params">
                  {params.map(([k, v]) => (
                    <>
                      <dt>{k}</dt>
                      <dd>{v}</dd>
                    </>
                  ))}
                </dl>
              </dd>
            </>
          )}
          <dt>Requested by</dt>
          <dd>{job.requestedByName}</dd>
          {job.pinned && (
            <>
              <dt>Pinned</dt>
              <dd id="job-pinned">yes: pruning keeps this job and its output</dd>
            </>
          )}
          <dt>Created</dt>
          <dd>
            <Time at={job.createdAt} />
          </dd>
          {job.retryOf && (
            <>
              <dt>Retry of</dt>
              <dd>
                <a href={`/jobs/${job.retryOf}`}>{job.retryOf.slice(0, 8)}</a>
              </dd>
            </>
          )}
        </dl>
        <JobLive job={job} canAct={p.canAct} lastSeq={p.lastSeq} />
        <h2>Steps</h2>
        <ol id="job-steps">
          <StepItems events={p.steps} />
        </ol>
      </section>
      <section class="card">
        <h2>Output</h2>
        {job.outputPrunedAt && (
          <p id="output-pruned" class="muted">
            This job's output and progress were pruned <Time at={job.outputPrunedAt} /> (retention); its status history
            is kept.
          </p>
        )}
        {p.output ? (
          <pre id="output">
            <OutputChunks events={p.output} />
          </pre>
        ) : (
          <p class="muted">Only the user who started this job, or an admin, can see its output.</p>
        )}
      </section>
    </Layout>
  );
}
