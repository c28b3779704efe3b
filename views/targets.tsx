import type { SessionUser } from '../server/auth/sessions.ts';
import type { LiveStatus } from '../worker/adapters/status.ts';
import { Layout } from './layout.tsx';

export interface TargetView {
  name: string;
  manager: string;
  description?: string | undefined;
  tls?: { probe: string } | undefined;
  deploy?: { branch: string } | undefined;
  lock: { jobId: string; kind: string } | null;
  lastJob: { id: string; kind: string; status: string } | null;
}

const canOperate = (u: SessionUser) => u.role !== 'viewer';

function uptime(sec: number | null): string {
  if (sec === null) return '—';
  const d = Math.floor(sec / 86_400);
  const h = Math.floor((sec % 86_400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m ${sec % 60}s`;
}

/** One target on the dashboard; it polls its own live status. */
export function TargetRow({ t, status, user }: { t: TargetView; status: LiveStatus; user: SessionUser }) {
  const confirm = (mode: string) => `${mode === 'restart' ? 'Restart' : 'Reload'} ${t.name}? Clients may notice.`;
  return (
    <tr
      id={`target-${t.name}`}
      data-running={String(status.running)}
      hx-get={`/fragments/targets/${t.name}`}
      hx-trigger="every 5s"
      hx-swap="outerHTML"
    >
      <td>
        <strong>{t.name}</strong> <span class="muted">{t.manager}</span>
      </td>
      <td>
        <span class={`badge ${status.running ? 's-succeeded' : 's-failed'}`}>
          {status.running ? 'running' : 'stopped'}
        </span>{' '}
        <small class="muted">{status.running ? '' : status.detail}</small>
      </td>
      <td>{status.pid ?? '—'}</td>
      <td>{uptime(status.uptimeSec)}</td>
      <td>
        {t.lastJob ? (
          <a href={`/jobs/${t.lastJob.id}`}>
            {t.lastJob.kind} · {t.lastJob.status}
          </a>
        ) : (
          '—'
        )}
        {t.lock && <div class="muted">locked by {t.lock.kind}</div>}
        {t.deploy && (
          <div>
            <a href={`/deployments?target=${t.name}`}>deploys</a>
          </div>
        )}
      </td>
      <td>
        {canOperate(user) && t.manager !== 'self' && (
          <>
            {['restart', 'reload'].map((mode) => (
              <button
                type="button"
                class="small"
                hx-post={`/ui/targets/${t.name}/${mode}`}
                hx-confirm={confirm(mode)}
                hx-target="next .error"
              >
                {mode === 'restart' ? 'Restart' : 'Reload'}
              </button>
            ))}
            <div class="error" />
          </>
        )}
      </td>
    </tr>
  );
}

export function TargetsTable(p: { rows: { t: TargetView; status: LiveStatus }[]; user: SessionUser }) {
  return (
    <table id="targets">
      <thead>
        <tr>
          <th>Target</th>
          <th>Status</th>
          <th>PID</th>
          <th>Uptime</th>
          <th>Last job</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {p.rows.map((r) => (
          <TargetRow t={r.t} status={r.status} user={p.user} />
        ))}
      </tbody>
    </table>
  );
}

/** The targets page: the table, and for admins a form that takes a target's JSON. */
export function TargetsPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  rows: { t: TargetView; status: LiveStatus }[];
  specs: { name: string; json: string }[];
}) {
  return (
    <Layout title="Targets" user={p.user} csrfToken={p.csrfToken}>
      <section class="card">
        <TargetsTable rows={p.rows} user={p.user} />
        {p.rows.length === 0 && <p class="muted">No targets yet.</p>}
      </section>
      {p.user.role === 'admin' && (
        <form class="card" hx-post="/ui/targets" hx-target="#target-error">
          <h2>Add or replace a target</h2>
          <label>
            Name <input name="name" required pattern="[a-z0-9][a-z0-9_-]{0,62}" />
          </label>
          <label>
            Definition (JSON: manager, unit / program + configPath / pidfile + signal + match, healthUrl, names, tls,
            env)
            <textarea name="spec" rows={8} required>
              {
                '{"manager": "signal", "pidfile": "/run/app/gunicorn.pid", "match": {"cmdline": "gunicorn"}, "healthUrl": "http://127.0.0.1:8000/health"}'
              }
            </textarea>
          </label>
          <div id="target-error" />
          <button type="submit">Save target</button>
          <h3>Current definitions</h3>
          {p.specs.map((s) => (
            <details>
              <summary>{s.name}</summary>
              <pre>{s.json}</pre>
            </details>
          ))}
        </form>
      )}
    </Layout>
  );
}
