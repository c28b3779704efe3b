import { Layout } from './layout.tsx';

export function LoginPage({
  error,
  username,
  notice,
}: {
  error?: string | undefined;
  username?: string | undefined;
  /** Why the browser was signed out, as a sentence. */
  notice?: string | undefined;
}) {
  return (
    <Layout title="Sign in" user={null} csrfToken={null} pagePath="/login">
      <form method="post" action="/login" class="card narrow">
        {notice && (
          <p class="notice" id="signed-out" role="status">
            {notice}
          </p>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <label>
          Username
          <input name="username" autocomplete="username" required value={username ?? ''} />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <button type="submit">Sign in</button>
      </form>
    </Layout>
  );
}
