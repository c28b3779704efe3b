import { CERT_WARN_DAYS } from '../db/status-shapes.ts';
import type { SessionUser } from '../server/auth/sessions.ts';
import { confirmAttrs } from './confirm.tsx';
import { duration, HostCard } from './host.tsx';
import { Layout } from './layout.tsx';
import type { HostCardView, TargetRowView, TargetStatusView, TargetView } from './types.ts';

export type { TargetView } from './types.ts';

const canOperate = (u: SessionUser) => u.role !== 'viewer';

type Mode = 'start' | 'stop' | 'restart' | 'reload';
const label: Record<Mode, string> = { start: 'Start', stop: 'Stop', restart: 'Restart', reload: 'Reload' };
const confirmOf = (mode: Mode, name: string) =>
  mode === 'stop'
    ? confirmAttrs({
        message: `Stop ${name}? It stays stopped until someone starts it.`,
        action: `Stop ${name}`,
        danger: true,
      })
    : mode === 'start'
      ? {}
      : confirmAttrs({ message: `${label[mode]} ${name}? Clients may notice.`, action: `${label[mode]} ${name}` });

/** What a user may do to a target in its current state: Start when stopped; Restart, Reload, Stop (admins) when running. */
function actionsFor(t: TargetView, s: TargetStatusView, user: SessionUser): Mode[] {
  if (!canOperate(user) || t.manager === 'self' || !s.known) return [];
  if (!s.running) return ['start'];
  return user.role === 'admin' ? ['restart', 'reload', 'stop'] : ['restart', 'reload'];
}

function StatusCell({ s }: { s: TargetStatusView }) {
  if (!s.known) {
    return (
      <td data-label="Status">
        <span class="badge">unknown</span> <small class="muted">no worker is serving this host</small>
      </td>
    );
  }
  return (
    <td data-label="Status">
      <span class={`badge ${s.running ? 's-succeeded' : 's-failed'}`}>{s.running ? 'running' : 'stopped'}</span>{' '}
      <small class="muted">{s.running ? '' : s.detail}</small>
    </td>
  );
}

function CertCell({ s }: { s: TargetStatusView }) {
  if (s.certError)
    return (
      <td data-label="Certificate" class="error">
        {s.certError}
      </td>
    );
  if (s.certDaysLeft === null) return <td data-label="Certificate">—</td>;
  const warn = s.certDaysLeft < CERT_WARN_DAYS;
  return (
    <td data-label="Certificate" class={warn ? 'cert-warn' : ''} data-cert-days={s.certDaysLeft}>
      {s.certDaysLeft < 0 ? 'expired' : `${s.certDaysLeft} days left`}
    </td>
  );
}

/** One target on the dashboard; the overview around it polls. */
export function TargetRow({ t, status, user }: { t: TargetView; status: TargetStatusView; user: SessionUser }) {
  const s = status;
  return (
    <tr id={`target-${t.name}`} data-running={s.known ? String(s.running) : 'unknown'}>
      <td data-label="Target">
        <a href={`/targets/${t.name}`}>
          <strong>{t.name}</strong>
        </a>{' '}
        <span class="muted">{t.manager}</span>{' '}
        <a class="small" href={`/targets/${t.name}/logs`}>
          logs
        </a>
        {t.configs && (
          <>
            {' · '}
            <a class="small" href={`/targets/${t.name}/configs`}>
              configs
            </a>
          </>
        )}
      </td>
      <StatusCell s={s} />
      <td data-label="PID">{s.known ? (s.pid ?? '—') : '—'}</td>
      <td data-label="Uptime">{s.known ? duration(s.uptimeSec) : '—'}</td>
      <td data-label="Last job">
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
      <CertCell s={s} />
      <td data-label="Restarts" data-restarts={s.restarts24h}>
        {s.restarts24h > 0 ? (
          <a class="restarts-flag" href={`/targets/${t.name}#restarts`}>
            {s.restarts24h} unexpected restart{s.restarts24h === 1 ? '' : 's'} in 24 h
          </a>
        ) : (
          '—'
        )}
      </td>
      <td>
        {actionsFor(t, s, user).map((mode) => (
          <button
            type="button"
            class={mode === 'stop' ? 'small danger' : 'small'}
            hx-post={`/ui/targets/${t.name}/${mode}`}
            {...confirmOf(mode, t.name)}
            hx-target={`#target-error-${t.name}`}
          >
            {label[mode]}
          </button>
        ))}
        <div class="error" id={`target-error-${t.name}`} />
      </td>
    </tr>
  );
}

export function TargetsTable(p: { rows: TargetRowView[]; user: SessionUser }) {
  return (
    <table id="targets">
      <thead>
        <tr>
          <th>Target</th>
          <th>Status</th>
          <th>PID</th>
          <th>Uptime</th>
          <th>Last job</th>
          <th>Certificate</th>
          <th>Restarts</th>
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

/** The hosts' cards and the targets' table, polled as one fragment: one query per poll, however many targets. */
export function Overview(p: { hosts: HostCardView[]; rows: TargetRowView[]; user: SessionUser }) {
  return (
    <div id="overview" hx-get="/fragments/overview" hx-trigger="every 5s" hx-swap="outerHTML">
      {p.hosts.map((h) => (
        <HostCard h={h} />
      ))}
      {p.rows.length > 0 && (
        <section class="card">
          <h2>Targets</h2>
          <TargetsTable rows={p.rows} user={p.user} />
        </section>
      )}
    </div>
  );
}

/** The targets page: the overview, and for admins the way to add one (a form, or JSON) and to change each. */
export function TargetsPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  hosts: HostCardView[];
  rows: TargetRowView[];
}) {
  const admin = p.user.role === 'admin';
  return (
    <Layout title="Targets" user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      {admin && (
        <p class="actions">
          <a class="button" href="/targets/new">
            New target
          </a>{' '}
          <a class="button secondary" href="/targets/import">
            Import JSON
          </a>
        </p>
      )}
      <Overview hosts={p.hosts} rows={p.rows} user={p.user} />
      {p.rows.length === 0 && <p class="card muted">No targets yet.</p>}
      {admin && p.rows.length > 0 && (
        <section class="card" id="target-admin">
          <h2>Change a target</h2>
          <ul class="plain">
            {p.rows.map(({ t }) => (
              <li data-target={t.name}>
                <strong>{t.name}</strong> <TargetAdminLinks name={t.name} />
              </li>
            ))}
          </ul>
        </section>
      )}
    </Layout>
  );
}

/** Edit, Duplicate and Export of one target (Delete is on its page, behind a typed confirmation). */
export function TargetAdminLinks({ name }: { name: string }) {
  return (
    <span class="links">
      <a href={`/targets/${name}/edit`}>Edit</a> · <a href={`/targets/${name}/duplicate`}>Duplicate</a> ·{' '}
      <a href={`/targets/${name}/export.json`} download={`${name}.json`}>
        Export JSON
      </a>
    </span>
  );
}
