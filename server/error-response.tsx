import type { Context } from 'hono';
import type { Logger } from '../config.ts';
import { ErrorPage } from '../views/error.tsx';
import type { SessionUser } from './auth/sessions.ts';
import { HttpError, htmlError, toHttpError } from './errors.ts';

/** The highest q a media range in an Accept header gets (exact type, `type/*`, then `*\/*`). */
function acceptQuality(accept: string, type: string): number {
  let best = -1;
  let bestSpecificity = -1;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    const specificity = range === type ? 2 : range === `${type.split('/')[0]}/*` ? 1 : range === '*/*' ? 0 : -1;
    if (specificity < bestSpecificity || specificity < 0) continue;
    const q = Number(
      params
        .map((p) => p.trim())
        .find((p) => p.startsWith('q='))
        ?.slice(2) ?? '1',
    );
    best = specificity > bestSpecificity ? q : Math.max(best, q);
    bestSpecificity = specificity;
  }
  return Number.isFinite(best) ? best : -1;
}

/** A browser navigating to a page, not an htmx swap or an API client: it gets an HTML error page. */
export function wantsErrorPage(c: Context): boolean {
  if (c.req.path === '/api' || c.req.path.startsWith('/api/') || c.req.header('HX-Request')) return false;
  const accept = c.req.header('Accept') ?? '';
  const html = acceptQuality(accept, 'text/html');
  return html > 0 && html >= acceptQuality(accept, 'application/json');
}

const PAGE_MESSAGES: Record<number, string> = {
  404: 'There is nothing at this address.',
  500: 'Deckhand failed to answer this request. Nothing about it was shown to protect its details.',
};

function errorPage(c: Context, e: HttpError, requestId: string | null) {
  const message = e.code === 'not_found' && e.message === 'no such route' ? PAGE_MESSAGES[404]! : e.message;
  const user = (c.get('user') as SessionUser | null | undefined) ?? null;
  return c.html(
    <ErrorPage status={e.status} message={message} requestId={requestId} user={user} pagePath={c.req.path} />,
    e.status,
  );
}

/** Answers an error: an HTML page for browsers, a fragment for htmx, JSON for everything else (and /api always). */
export function renderError(c: Context, e: HttpError): Response | Promise<Response> {
  const requestId = e.status >= 500 ? ((c.get('requestId') as string | undefined) ?? null) : null;
  if (c.req.header('HX-Request') && e.status !== 401) return c.html(htmlError(e), e.status);
  if (wantsErrorPage(c)) return errorPage(c, e, requestId);
  const body = { code: e.code, message: e.message, details: e.details };
  return c.json({ error: requestId ? { ...body, requestId } : body }, e.status);
}

export function errorHandler(log: Logger) {
  return (err: Error, c: Context) => {
    const known = toHttpError(err);
    if (known) return renderError(c, known);
    log.error({ err, path: c.req.path, requestId: c.get('requestId') }, 'unhandled error');
    return renderError(c, new HttpError(500, 'internal', 'internal error'));
  };
}

/** Hono's notFound: no route matched. */
export const routeNotFound = (c: Context) => renderError(c, new HttpError(404, 'not_found', 'no such route'));
