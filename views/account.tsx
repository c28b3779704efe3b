import type { SessionUser } from '../server/auth/sessions.ts';
import { Layout } from './layout.tsx';

/** Change your own password; the only page a user with a one-time password can reach. */
export function ChangePasswordPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  error?: string | undefined;
}) {
  return (
    <Layout title="Change password" user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <form method="post" action="/account/password" class="card narrow">
        {p.user.mustChangePassword && (
          <p role="status">You signed in with a one-time password. Choose your own password to continue.</p>
        )}
        {p.error && (
          <p class="error" role="alert">
            {p.error}
          </p>
        )}
        <input type="hidden" name="_csrf" value={p.csrfToken ?? ''} />
        <label>
          Current password
          <input name="currentPassword" type="password" autocomplete="current-password" required />
        </label>
        <label>
          New password (at least 12 characters)
          <input name="newPassword" type="password" autocomplete="new-password" minlength={12} required />
        </label>
        <label>
          New password again
          <input name="confirmPassword" type="password" autocomplete="new-password" minlength={12} required />
        </label>
        <button type="submit">Change password</button>
      </form>
    </Layout>
  );
}
