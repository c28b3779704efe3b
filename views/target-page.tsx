import type { SessionUser } from '../server/auth/sessions.ts';
import { confirmAttrs } from './confirm.tsx';
import { Layout } from './layout.tsx';
import { TargetAdminLinks, TargetsTable } from './targets.tsx';
import { Time } from './time.tsx';
import type { RestartView, TargetRowView } from './types.ts';

/** One target: its status row, and every restart of its process that no Deckhand job explains. */
export function TargetPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  row: TargetRowView;
  restarts: RestartView[];
}) {
  const name = p.row.t.name;
  return (
    <Layout title={`Target ${name}`} user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <section class="card">
        <h2>{name}</h2>
        {p.row.t.description && <p class="muted">{p.row.t.description}</p>}
        <p>
          <a href={`/targets/${name}/logs`}>Logs</a>
        </p>
        <TargetsTable rows={[p.row]} user={p.user} />
      </section>
      {p.user.role === 'admin' && <AdminCard row={p.row} />}
      <section class="card" id="restarts">
        <h2>Unexpected restarts</h2>
        <p class="muted">
          The process changed (a new PID or start time) while no Deckhand job acted on this target: a crash and respawn,
          an auto-reloader, or someone on the host.
        </p>
        {p.restarts.length === 0 ? (
          <p class="muted">None recorded.</p>
        ) : (
          <table id="restart-rows">
            <thead>
              <tr>
                <th>Seen</th>
                <th>What changed</th>
              </tr>
            </thead>
            <tbody>
              {p.restarts.map((r) => (
                <tr>
                  <td data-label="Seen">
                    <Time at={r.at} />
                  </td>
                  <td data-label="What changed">{r.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Layout>
  );
}

/** An admin's changes to this target: the form, a copy, its JSON; and the two that cannot be undone. */
function AdminCard({ row }: { row: TargetRowView }) {
  const { name, lock } = row.t;
  return (
    <section class="card" id="target-admin">
      <h2>Settings</h2>
      <p>
        <TargetAdminLinks name={name} />
      </p>
      <p>
        {lock && (
          <button
            type="button"
            class="danger"
            hx-post={`/ui/targets/${name}/lock/release`}
            hx-target="#target-admin-error"
            {...confirmAttrs({
              message: `Force-release the lock of ${name}? Job ${lock.jobId.slice(0, 8)} (${lock.kind}) holds it; the next job may then run beside it.`,
              action: 'Release the lock',
              danger: true,
            })}
          >
            Force-release lock
          </button>
        )}{' '}
        <button
          type="button"
          class="danger"
          hx-post={`/ui/targets/${name}/delete`}
          hx-target="#target-admin-error"
          {...confirmAttrs({
            message: `Delete target ${name}? Its settings and secrets are removed; its jobs and audit rows stay. The service itself is not touched.`,
            action: `Delete ${name}`,
            danger: true,
            typed: name,
          })}
        >
          Delete target
        </button>
      </p>
      <div id="target-admin-error" />
    </section>
  );
}
