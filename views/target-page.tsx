import type { SessionUser } from '../server/auth/sessions.ts';
import { Layout } from './layout.tsx';
import { TargetsTable } from './targets.tsx';
import { Time } from './time.tsx';
import type { RestartView, TargetRowView } from './types.ts';

/** One target: its status row, and every restart of its process that no Deckhand job explains. */
export function TargetPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  row: TargetRowView;
  restarts: RestartView[];
}) {
  const name = p.row.t.name;
  return (
    <Layout title={`Target ${name}`} user={p.user} csrfToken={p.csrfToken}>
      <section class="card">
        <h2>{name}</h2>
        {p.row.t.description && <p class="muted">{p.row.t.description}</p>}
        <p>
          <a href={`/targets/${name}/logs`}>Logs</a>
        </p>
        <TargetsTable rows={[p.row]} user={p.user} />
      </section>
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
