import type { auditLog } from '../db/schema.ts';
import type { SessionUser } from '../server/auth/sessions.ts';
import { Layout } from './layout.tsx';

type AuditRow = typeof auditLog.$inferSelect;

export function AuditPage(p: { user: SessionUser; csrfToken: string | null; rows: AuditRow[]; older: number | null }) {
  return (
    <Layout title="Audit log" user={p.user} csrfToken={p.csrfToken}>
      <section class="card">
        <table>
          <thead>
            <tr>
              <th>When (UTC)</th>
              <th>Who</th>
              <th>Action</th>
              <th>Subject</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {p.rows.map((r) => (
              <tr>
                <td>{r.at.toISOString().replace('T', ' ').slice(0, 19)}</td>
                <td>{r.actor}</td>
                <td>{r.action}</td>
                <td>
                  {r.subject?.match(/^[0-9a-f-]{36}$/) ? (
                    <a href={`/jobs/${r.subject}`}>{r.subject.slice(0, 8)}</a>
                  ) : (
                    r.subject
                  )}
                </td>
                <td>
                  <code>{JSON.stringify(r.details)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {p.older && <a href={`/audit?before=${p.older}`}>Older →</a>}
      </section>
    </Layout>
  );
}
