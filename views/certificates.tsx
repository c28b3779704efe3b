import type { SessionUser } from '../server/auth/sessions.ts';
import { confirmAttrs } from './confirm.tsx';
import { Layout } from './layout.tsx';

export interface CertificateView {
  id: string;
  fingerprint: string;
  subject: string;
  names: string[];
  notAfter: string;
  daysLeft: number;
  warnings: string[];
}

export function CertificatesPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  certificates: CertificateView[];
  tlsTargets: string[];
}) {
  const admin = p.user.role === 'admin';
  return (
    <Layout title="Certificates" user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <section class="card">
        <table id="certificates">
          <thead>
            <tr>
              <th>Subject</th>
              <th>Names</th>
              <th>Expires (UTC)</th>
              <th>SHA-256</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {p.certificates.map((c) => (
              <tr data-id={c.id}>
                <td data-label="Subject">{c.subject}</td>
                <td data-label="Names">{c.names.join(', ')}</td>
                <td data-label="Expires (UTC)">
                  {c.notAfter.slice(0, 10)} ({c.daysLeft} days)
                  {c.warnings.map((w) => (
                    <div class="error">⚠ {w}</div>
                  ))}
                </td>
                <td data-label="SHA-256">
                  <code>{c.fingerprint.slice(0, 23)}…</code>
                </td>
                <td>
                  {admin && p.tlsTargets.length > 0 && (
                    <form
                      hx-post="/ui/cert-reload"
                      hx-target="next .error"
                      class="inline"
                      {...confirmAttrs({
                        message: 'Swap this certificate in? The old one is kept and restored on failure.',
                        action: 'Install certificate',
                      })}
                    >
                      <input type="hidden" name="bundle" value={c.id} />
                      <select name="target">
                        {p.tlsTargets.map((t) => (
                          <option value={t}>{t}</option>
                        ))}
                      </select>
                      <button type="submit" class="small">
                        Install
                      </button>
                    </form>
                  )}
                  <div class="error" />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {p.certificates.length === 0 && <p class="muted">No certificates uploaded yet.</p>}
      </section>
      {admin && (
        <form class="card" hx-post="/api/certificates" hx-target="#upload-result">
          <h2>Upload a certificate</h2>
          <label>
            Certificate with its chain (PEM, leaf first)
            <textarea name="cert" rows={6} required />
          </label>
          <label>
            Private key (PEM, unencrypted; stored encrypted)
            <textarea name="key" rows={4} required />
          </label>
          <div id="upload-result" />
          <button type="submit">Upload and check</button>
        </form>
      )}
    </Layout>
  );
}
