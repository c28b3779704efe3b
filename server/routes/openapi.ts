import { Hono } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../context.ts';
import { notFound } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import { apiDoc } from '../openapi/describe.ts';
import { buildDocument, swaggerFile } from '../openapi/document.ts';

// Swagger UI's own script: no inline script, so the page runs under a strict CSP.
const INIT_JS = `window.addEventListener('load', function () {
  var csrf = document.querySelector('meta[name="csrf-token"]');
  window.ui = SwaggerUIBundle({
    url: '/api/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    // A signed-in browser's writes need the session's CSRF token (bearer tokens do not).
    requestInterceptor: function (req) {
      if (csrf && csrf.content) req.headers['X-CSRF-Token'] = csrf.content;
      return req;
    },
  });
});
`;

const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets style attributes as it renders.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** swagger-ui-dist, served from node_modules before authentication (public static files, no CDN). */
export const swaggerAssets = new Hono<AppEnv>()
  .get('/init.js', (c) => c.body(INIT_JS, 200, { 'Content-Type': 'text/javascript' }))
  .get('/:file', async (c) => {
    const file = swaggerFile(c.req.param('file'));
    if (!file) throw notFound('file');
    return c.body(new Uint8Array(await file.body), 200, {
      'Content-Type': file.type,
      'Cache-Control': 'public, max-age=3600',
    });
  });

/** `GET /api/openapi.json` and `GET /api/docs` for `app` (mounted under /api, after every other route). */
export function openApiRoutes(app: Hono<AppEnv>) {
  let doc: ReturnType<typeof buildDocument> | undefined;
  return new Hono<AppEnv>()
    .get(
      '/openapi.json',
      apiDoc({
        tag: 'meta',
        summary: 'This OpenAPI 3.1 document',
        role: 'viewer',
        ok: { status: 200, description: 'The document, generated from the zod schemas that validate each request' },
      }),
      requireRole('viewer'),
      async (c) => {
        doc ??= buildDocument(app as unknown as Hono);
        doc.catch(() => {
          doc = undefined;
        });
        return c.json(await doc);
      },
    )
    .get(
      '/docs',
      apiDoc({
        tag: 'meta',
        summary: 'The API reference (Swagger UI) over this document',
        role: 'viewer',
        ok: { status: 200, description: 'An HTML page', media: 'text/html' },
      }),
      requireRole('viewer'),
      (c) => {
        c.header('Content-Security-Policy', DOCS_CSP);
        return c.html(html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="csrf-token" content="${c.var.csrfToken ?? ''}" />
    <title>API · Deckhand</title>
    <link rel="stylesheet" href="/static/swagger/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/static/swagger/swagger-ui-bundle.js"></script>
    <script src="/static/swagger/init.js"></script>
  </body>
</html>`);
      },
    );
}
