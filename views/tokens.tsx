import type { SessionUser } from '../server/auth/sessions.ts';
import { confirmAttrs } from './confirm.tsx';
import { Layout } from './layout.tsx';
import { Time } from './time.tsx';

export interface TokenView {
  id: string;
  user: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

function state(t: TokenView, now: number) {
  if (t.revokedAt)
    return (
      <>
        revoked <Time at={t.revokedAt} />
      </>
    );
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return 'expired';
  return 'active';
}

/** The new token, shown once in place of the form's result. */
export function NewToken({ token, user, expiresAt }: { token: string; user: string; expiresAt: string | null }) {
  return (
    <div class="card" role="status">
      <p>
        Token for {user}, valid until <Time at={expiresAt} empty="never" />. Copy it now: it is not shown again.
      </p>
      <code class="token">{token}</code>
    </div>
  );
}

/** Everyone's tokens for admins, your own for everyone else; last use, expiry, revoke. */
export function TokensPage(p: { user: SessionUser; csrfToken: string | null; pagePath: string; tokens: TokenView[] }) {
  const now = Date.now();
  return (
    <Layout title="API tokens" user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <section class="card">
        <div id="tokens-error" />
        <table>
          <thead>
            <tr>
              <th>Id</th>
              <th>User</th>
              <th>Created</th>
              <th>Expires</th>
              <th>Last used</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {p.tokens.map((t) => (
              <tr data-token={t.id}>
                <td data-label="Id">
                  <code>{t.id.slice(0, 8)}</code>
                </td>
                <td data-label="User">{t.user}</td>
                <td data-label="Created">
                  <Time at={t.createdAt} empty="" />
                </td>
                <td data-label="Expires">
                  <Time at={t.expiresAt} empty="never" />
                </td>
                <td data-label="Last used">
                  <Time at={t.lastUsedAt} empty="never" />
                </td>
                <td data-label="State">{state(t, now)}</td>
                <td>
                  {state(t, now) === 'active' && (
                    <button
                      type="button"
                      class="danger"
                      hx-post={`/ui/tokens/${t.id}/revoke`}
                      hx-target="#tokens-error"
                      {...confirmAttrs({
                        message: `Revoke token ${t.id.slice(0, 8)} of ${t.user}? It stops working at once.`,
                        action: 'Revoke token',
                        danger: true,
                      })}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {p.tokens.length === 0 && <p class="muted">No tokens.</p>}
      </section>
      <form class="card" hx-post="/ui/tokens" hx-target="#new-token">
        <h2>New token</h2>
        {p.user.role === 'admin' && (
          <label>
            For user <input name="user" value={p.user.username} required pattern="[a-zA-Z0-9_.\-]{1,64}" />
          </label>
        )}
        <label>
          Expires in (days) <input name="expiresInDays" type="number" min={1} max={3650} value="90" required />
        </label>
        <div id="new-token" />
        <button type="submit">Create token</button>
      </form>
    </Layout>
  );
}
