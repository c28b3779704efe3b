import type { SessionUser } from '../server/auth/sessions.ts';
import { confirmAttrs } from './confirm.tsx';
import { Layout } from './layout.tsx';
import { exactUtc, Time } from './time.tsx';

/** An occurrence: its exact UTC time (runs may be a second apart), then how far off it is. */
const At = ({ at }: { at: string }) => (
  <>
    {exactUtc(new Date(at))} (<Time at={at} />)
  </>
);

export interface ScheduleRunView {
  fireAt: string;
  outcome: 'started' | 'skipped' | 'failed';
  catchUp: boolean;
  reason: string | null;
  job: { id: string; status: string } | null;
}

export interface ScheduleView {
  id: string;
  /** What the job does, in words (views/job-title.ts). */
  title: string;
  cron: string;
  tz: string;
  owner: string;
  paused: boolean;
  blocked: string | null;
  nextRuns: string[];
  lastRuns: ScheduleRunView[];
  /** The caller may pause, resume and delete it (its owner or an admin, operator or more). */
  canChange: boolean;
}

function RunResult({ run }: { run: ScheduleRunView }) {
  const when = <At at={run.fireAt} />;
  if (run.job)
    return (
      <li data-run-status={run.job.status}>
        {when}: <a href={`/jobs/${run.job.id}`}>{run.job.status}</a>
        {run.catchUp && ' (catch-up)'}
      </li>
    );
  return (
    <li data-run-status={run.outcome}>
      {when}: {run.outcome}
      {run.reason && ` (${run.reason})`}
    </li>
  );
}

function ScheduleCard({ s }: { s: ScheduleView }) {
  const state = s.paused ? 'paused' : s.blocked ? `not running: ${s.blocked}` : 'active';
  return (
    <section class="card" data-schedule={s.id}>
      <h2>{s.title}</h2>
      <p>
        <code>{s.cron}</code> ({s.tz}) · owner {s.owner} · <span data-state>{state}</span>
      </p>
      <h3>Next runs</h3>
      {s.nextRuns.length ? (
        <ul>
          {s.nextRuns.slice(0, 3).map((t) => (
            <li>
              <At at={t} />
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">None while paused.</p>
      )}
      <h3>Last runs</h3>
      {s.lastRuns.length ? (
        <ul class="runs">
          {s.lastRuns.slice(0, 5).map((r) => (
            <RunResult run={r} />
          ))}
        </ul>
      ) : (
        <p class="muted">Not run yet.</p>
      )}
      {s.canChange && (
        <div class="actions">
          <button
            type="button"
            hx-post={`/ui/schedules/${s.id}/${s.paused ? 'resume' : 'pause'}`}
            hx-target="#schedules-error"
          >
            {s.paused ? 'Resume' : 'Pause'}
          </button>{' '}
          <button
            type="button"
            class="danger"
            hx-post={`/ui/schedules/${s.id}/delete`}
            hx-target="#schedules-error"
            {...confirmAttrs({
              message: `Delete the schedule "${s.title}" (${s.cron})? It stops for good; its past jobs stay.`,
              action: 'Delete schedule',
              danger: true,
            })}
          >
            Delete
          </button>
        </div>
      )}
    </section>
  );
}

/** Build a job from a few fields, or paste a POST /api/jobs body. */
function NewScheduleForm({ scripts, targets }: { scripts: string[]; targets: string[] }) {
  return (
    <form class="card" hx-post="/ui/schedules" hx-target="#new-schedule-error" id="new-schedule">
      <h2>New schedule</h2>
      <label>
        Cron (5 fields, or 6 with seconds first) <input name="cron" required placeholder="0 3 * * *" />
      </label>
      <label>
        Time zone <input name="tz" value="UTC" required />
      </label>
      <label>
        Kind
        <select name="kind">
          <option value="script">script</option>
          <option value="restart">restart</option>
          <option value="deploy">deploy</option>
        </select>
      </label>
      <label>
        Script (script)
        <select name="script">
          {scripts.map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
      </label>
      <label>
        Parameters (script, JSON) <input name="params" placeholder='{"path":"/var"}' />
      </label>
      <label>
        Target (restart, deploy)
        <select name="target">
          <option value="">—</option>
          {targets.map((t) => (
            <option value={t}>{t}</option>
          ))}
        </select>
      </label>
      <label>
        Mode (restart)
        <select name="mode">
          <option value="restart">restart</option>
          <option value="reload">reload</option>
        </select>
      </label>
      <label>
        Ref (deploy) <input name="ref" placeholder="main" />
      </label>
      <label>
        Or a whole job body (JSON, as for POST /api/jobs; used instead of the fields above)
        <textarea name="jobJson" rows={3} placeholder='{"kind":"script","script":"disk-usage","params":{}}' />
      </label>
      <div id="new-schedule-error" />
      <button type="submit">Create schedule</button>
    </form>
  );
}

export function SchedulesPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  schedules: ScheduleView[];
  scripts: string[];
  targets: string[];
}) {
  return (
    <Layout title="Schedules" user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <div id="schedules-error" />
      {p.schedules.map((s) => (
        <ScheduleCard s={s} />
      ))}
      {p.schedules.length === 0 && <p class="muted">No schedules yet.</p>}
      {p.user.role !== 'viewer' ? (
        <NewScheduleForm scripts={p.scripts} targets={p.targets} />
      ) : (
        <p class="muted">Operators and admins can schedule jobs.</p>
      )}
    </Layout>
  );
}
