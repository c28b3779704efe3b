import type { SessionUser } from '../server/auth/sessions.ts';
import { Layout } from './layout.tsx';
import { Time } from './time.tsx';

/** One audit row as the page, the JSON API and the CSV show it (details already masked). */
export interface AuditView {
  id: number;
  at: string;
  actor: string;
  action: string;
  subject: string | null;
  sentence: string;
  details: Record<string, unknown>;
}

interface AuditPageProps {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  rows: AuditView[];
  raw: Record<string, string>;
  error: { message: string; details: unknown } | null;
  olderHref: string | null;
  csvHref: string;
}

function FilterForm({ raw }: { raw: Record<string, string> }) {
  const field = (name: string, label: string, placeholder: string) => (
    <label>
      {label}
      <input name={name} value={raw[name] ?? ''} placeholder={placeholder} />
    </label>
  );
  return (
    <form method="get" action="/audit" class="filters">
      {field('actor', 'Who', 'alice')}
      {field('action', 'Action', 'job.enqueue')}
      {field('subject', 'Subject', 'shop')}
      {field('since', 'Since (UTC)', '2026-11-24T08:00')}
      {field('until', 'Until (UTC)', '2026-11-25')}
      <button type="submit">Filter</button>
    </form>
  );
}

export function AuditPage(p: AuditPageProps) {
  const fieldErrors = (p.error?.details as { fieldErrors?: Record<string, string[]> } | null)?.fieldErrors ?? {};
  return (
    <Layout title="Audit log" user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <section class="card">
        <FilterForm raw={p.raw} />
        {p.error && (
          <p class="error" role="alert">
            {p.error.message}:{' '}
            {Object.entries(fieldErrors)
              .map(([k, v]) => `${k}: ${v.join(', ')}`)
              .join('; ')}
          </p>
        )}
        <p>
          <a href={p.csvHref}>Export these rows as CSV</a>
        </p>
      </section>
      <section class="card">
        <table class="cards">
          <thead>
            <tr>
              <th>When (UTC)</th>
              <th>What happened</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {p.rows.map((r) => (
              <tr>
                <td data-label="When (UTC)">
                  <Time at={r.at} />
                </td>
                <td data-label="What happened">
                  {r.sentence}
                  {r.subject?.match(/^[0-9a-f-]{36}$/) && (
                    <>
                      {' '}
                      <a href={`/jobs/${r.subject}`}>job {r.subject.slice(0, 8)}</a>
                    </>
                  )}
                  <div class="muted">{r.action}</div>
                </td>
                <td data-label="Details">
                  {Object.keys(r.details).length > 0 && (
                    <details>
                      <summary>details</summary>
                      <pre class="wrap">{JSON.stringify(r.details, null, 2)}</pre>
                    </details>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {p.rows.length === 0 && !p.error && <p class="muted">No entries match.</p>}
        {p.olderHref && (
          <p>
            <a href={p.olderHref} rel="next">
              Older →
            </a>
          </p>
        )}
      </section>
    </Layout>
  );
}
