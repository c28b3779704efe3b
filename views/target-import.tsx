import type { SessionUser } from '../server/auth/sessions.ts';
import { Layout } from './layout.tsx';

/** A target as JSON (an export, or the body of PUT /api/targets/:name), checked as the API checks it. */
export function TargetImportPage(p: { user: SessionUser; csrfToken: string | null; pagePath: string }) {
  return (
    <Layout title="Import a target" user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <form class="card" id="import-form" hx-post="/ui/targets" hx-target="#import-error">
        <p class="muted">
          Paste a target's JSON: an exported one, or the body of <code>PUT /api/targets/:name</code>. A target of the
          same name is replaced; its secrets are kept unless the document has an <code>env</code> object.
        </p>
        <label>
          Name <small class="muted">(blank: the document's own "name")</small>
          <input name="name" pattern="[a-z0-9][a-z0-9_\-]{0,62}" />
        </label>
        <label>
          JSON
          <textarea name="spec" rows={14} required>
            {
              '{\n  "name": "web",\n  "manager": "systemd",\n  "unit": "web.service",\n  "healthUrl": "http://127.0.0.1:8000/health"\n}'
            }
          </textarea>
        </label>
        <div id="import-error" />
        <button type="submit">Import</button>
      </form>
    </Layout>
  );
}
