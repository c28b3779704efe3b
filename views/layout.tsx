import type { Child } from 'hono/jsx';
import type { SessionUser } from '../server/auth/sessions.ts';
import { ConfirmDialog } from './confirm.tsx';

export interface PageProps {
  title: string;
  user: SessionUser | null;
  csrfToken: string | null;
  /** The path being answered, to mark the current page (a prop: AsyncLocalStorage would cost every request). */
  pagePath: string;
  children: Child;
}

const nav = [
  ['/', 'Dashboard', 'viewer'],
  ['/targets', 'Targets', 'viewer'],
  ['/deployments', 'Deployments', 'viewer'],
  ['/configs', 'Configs', 'viewer'],
  ['/scripts', 'Scripts', 'viewer'],
  ['/schedules', 'Schedules', 'viewer'],
  ['/certificates', 'Certificates', 'viewer'],
  ['/tokens', 'Tokens', 'viewer'],
  ['/users', 'Users', 'admin'],
  ['/notifications', 'Notifications', 'admin'],
  ['/audit', 'Audit log', 'admin'],
  ['/admin/queues', 'Queue', 'admin'],
  ['/settings', 'Settings', 'admin'],
] as const;

const rank = { viewer: 0, operator: 1, admin: 2 } as const;

/** Whether a nav link is the current page's section: a job page belongs to the dashboard (its jobs list). */
export function isCurrent(href: string, path: string): boolean {
  if (href === '/') return path === '/' || path.startsWith('/jobs/');
  if (href === '/configs' && /^\/targets\/[^/]+\/configs/.test(path)) return true;
  if (href === '/targets' && /^\/targets\/[^/]+\/configs/.test(path)) return false;
  return path === href || path.startsWith(`${href}/`);
}

export function Layout({ title, user, csrfToken, pagePath, children }: PageProps) {
  // htmx sends the CSRF token on every request from inside <body>.
  const headers = csrfToken ? JSON.stringify({ 'X-CSRF-Token': csrfToken }) : undefined;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Deckhand`}</title>
        <link rel="stylesheet" href="/static/app.css" />
        <script src="/static/htmx.min.js" defer />
        <script src="/static/confirm.js" defer />
      </head>
      <body hx-headers:inherited={headers}>
        <header>
          <strong class="brand">⚓ Deckhand</strong>
          {user && (
            // A disclosure that works without JS: collapsed behind "Menu" on narrow screens, always open on wide ones (app.css).
            <details class="menu">
              <summary>Menu</summary>
              <nav aria-label="Main">
                {nav
                  .filter(([, , role]) => rank[user.role] >= rank[role])
                  .map(([href, label]) => (
                    <a href={href} aria-current={isCurrent(href, pagePath) ? 'page' : undefined}>
                      {label}
                    </a>
                  ))}
                <a class="who" href="/account/password" title="Change your password">
                  {user.username} ({user.role})
                </a>
                <button type="button" class="link" hx-post="/logout" hx-swap="none">
                  Sign out
                </button>
              </nav>
            </details>
          )}
        </header>
        <main>
          <h1>{title}</h1>
          {children}
        </main>
        {user && <ConfirmDialog />}
      </body>
    </html>
  );
}
