import type { SessionUser } from '../server/auth/sessions.ts';
import { Layout } from './layout.tsx';

const HEADINGS: Record<number, string> = {
  400: 'Bad request',
  401: 'Sign in needed',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  413: 'Too large',
  429: 'Too many requests',
  500: 'Something went wrong',
  503: 'Unavailable',
};

/** A browser's page for an error: the status, a plain sentence, and for a server error the id in the log line. */
export function ErrorPage(p: {
  status: number;
  message: string;
  requestId: string | null;
  user: SessionUser | null;
  pagePath: string;
}) {
  const heading = HEADINGS[p.status] ?? (p.status >= 500 ? 'Something went wrong' : 'Request refused');
  return (
    <Layout title={`${p.status} ${heading}`} user={p.user} csrfToken={null} pagePath={p.pagePath}>
      <section class="card narrow" id="error-page" data-status={String(p.status)}>
        <p role="alert">{p.message}</p>
        {p.requestId && (
          <p class="muted">
            Request id <code id="request-id">{p.requestId}</code>: give it to your admin, it is in Deckhand's log.
          </p>
        )}
        <p>{p.status === 401 ? <a href="/login">Sign in</a> : <a href="/">Back to the dashboard</a>}</p>
      </section>
    </Layout>
  );
}
