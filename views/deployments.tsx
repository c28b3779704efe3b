import type { SessionUser } from '../server/auth/sessions.ts';
import type { ApiDeployment } from '../server/deployment-service.ts';
import { confirmAttrs } from './confirm.tsx';
import { StatusBadge } from './job-live.tsx';
import { Layout } from './layout.tsx';
import { duration, Time } from './time.tsx';

export interface ReleaseChoice {
  release: string;
  sha: string | null;
  ref: string | null;
  deployedAt: string | null;
  current: boolean;
  migrationsSince: (string | null)[];
}

export interface DeployTargetView {
  name: string;
  repo: string;
  branch: string;
  current: string | null;
  releases: ReleaseChoice[];
  history: ApiDeployment[];
}

const canOperate = (u: SessionUser) => u.role !== 'viewer';
const short = (sha: string | null) => (sha ? sha.slice(0, 7) : '—');

/** What a rollback will not undo is said before it starts. */
function rollbackConfirm(target: string, r: ReleaseChoice): string {
  const warning = r.migrationsSince.length
    ? ` Warning: database migrations ran since this release (in ${r.migrationsSince.join(', ')}); rolling back does not undo them.`
    : '';
  return `Roll ${target} back to ${r.release} (${short(r.sha)})?${warning}`;
}

function DeployForm({ t }: { t: DeployTargetView }) {
  return (
    <form
      class="inline"
      hx-post="/ui/deploy"
      hx-target="next .error"
      {...confirmAttrs({ message: `Deploy to ${t.name}?`, action: `Deploy to ${t.name}` })}
    >
      <input type="hidden" name="target" value={t.name} />
      <label>
        Ref <input name="ref" placeholder={t.branch} aria-label={`ref to deploy to ${t.name}`} />
      </label>{' '}
      <button type="submit">Deploy</button>
    </form>
  );
}

function Releases({ t, user }: { t: DeployTargetView; user: SessionUser }) {
  if (t.releases.length === 0) return <p class="muted">No release has been live yet.</p>;
  return (
    <table class="releases">
      <thead>
        <tr>
          <th>Release</th>
          <th>Ref</th>
          <th>Deployed</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {t.releases.map((r) => (
          <tr data-release={r.release}>
            <td data-label="Release">
              <code>{r.release}</code>
            </td>
            <td data-label="Ref">{r.ref ?? '—'}</td>
            <td data-label="Deployed">
              <Time at={r.deployedAt} />
            </td>
            <td>
              {r.current ? (
                <span class="badge s-succeeded">current</span>
              ) : (
                canOperate(user) && (
                  <button
                    type="button"
                    class="small danger"
                    hx-post="/ui/rollback"
                    hx-vals={JSON.stringify({ target: t.name, release: r.release })}
                    {...confirmAttrs({ message: rollbackConfirm(t.name, r), action: 'Roll back', danger: true })}
                    hx-target="next .error"
                  >
                    Roll back
                  </button>
                )
              )}
              <div class="error" />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function History({ rows }: { rows: ApiDeployment[] }) {
  if (rows.length === 0) return <p class="muted">No deploys yet.</p>;
  return (
    <table class="history">
      <thead>
        <tr>
          <th>Started</th>
          <th>By</th>
          <th>Ref</th>
          <th>Sha</th>
          <th>Duration</th>
          <th>Result</th>
          <th>Log</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((d) => (
          <tr data-job={d.jobId}>
            <td data-label="Started">
              <Time at={d.createdAt} />
            </td>
            <td data-label="By">{d.requestedBy}</td>
            <td data-label="Ref">{d.isRollback ? `rollback to ${d.release}` : (d.ref ?? '—')}</td>
            <td data-label="Sha">
              <code>{short(d.sha)}</code>
            </td>
            <td data-label="Duration">{d.durationMs === null ? '—' : duration(d.durationMs)}</td>
            <td data-label="Result">
              <StatusBadge status={d.status} />
              {d.rolledBackTo && <span class="rolled-back"> rolled back to {d.rolledBackTo}</span>}
            </td>
            <td data-label="Log">
              <a href={d.url}>log</a>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function DeploymentsPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  targets: DeployTargetView[];
}) {
  return (
    <Layout title="Deployments" user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      {p.targets.length === 0 && (
        <p class="muted">No target has deploy settings yet. Add a deploy section to a target on the Targets page.</p>
      )}
      {p.targets.map((t) => (
        <section class="card" id={`deploy-${t.name}`}>
          <h2>{t.name}</h2>
          <p class="muted">
            {t.repo} · branch {t.branch} · live: <code>{t.current ?? 'nothing yet'}</code>
          </p>
          {canOperate(p.user) && (
            <>
              <DeployForm t={t} />
              <div class="error" />
            </>
          )}
          <h3>Releases</h3>
          <Releases t={t} user={p.user} />
          <h3>History</h3>
          <History rows={t.history} />
        </section>
      ))}
    </Layout>
  );
}
