import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { type Context, Hono, type Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { requirePasswordChanged } from './auth/password-gate.ts';
import type { AppDeps, AppEnv } from './context.ts';
import { errorHandler, routeNotFound } from './error-response.tsx';
import { HttpError } from './errors.ts';
import { authenticate, requireCsrfToken, requireRole, requireSameOrigin } from './middleware.ts';
import { accountRoutes } from './routes/account.tsx';
import { auditRoutes } from './routes/audit.tsx';
import { authRoutes } from './routes/auth.tsx';
import { certificatesApi } from './routes/certificates.ts';
import { cliBundle } from './routes/cli-bundle.ts';
import { configsApi } from './routes/configs.ts';
import { deploymentsApi } from './routes/deployments.ts';
import { jobsApi } from './routes/jobs.ts';
import { logsApi } from './routes/logs.ts';
import { notificationsApi } from './routes/notifications.ts';
import { openApiRoutes, swaggerAssets } from './routes/openapi.ts';
import { pageRoutes } from './routes/pages.tsx';
import { QUEUE_BOARD_PATH, queueBoard } from './routes/queues.ts';
import { schedulesApi } from './routes/schedules.ts';
import { scriptsApi } from './routes/scripts.ts';
import { settingsRoutes } from './routes/settings.tsx';
import { systemRoutes } from './routes/system.ts';
import { targetsApi } from './routes/targets.ts';
import { tokensApi } from './routes/tokens.ts';
import { accountPages } from './routes/ui-accounts.tsx';
import { configPages } from './routes/ui-configs.tsx';
import { deploymentPages } from './routes/ui-deployments.tsx';
import { logPages } from './routes/ui-logs.tsx';
import { notificationPages } from './routes/ui-notifications.tsx';
import { schedulePages } from './routes/ui-schedules.tsx';
import { targetFormPages } from './routes/ui-target-form.tsx';
import { targetPages } from './routes/ui-targets.tsx';
import { usersApi } from './routes/users.ts';
import { rejectBadBodyText, rejectBadRequestText } from './text-guard.ts';

const htmxFile = path.join(
  path.dirname(createRequire(import.meta.url).resolve('htmx.org/package.json')),
  'dist/htmx.min.js',
);

/** Our own small assets, read once at start. */
const OWN_ASSETS = { 'app.css': 'text/css', 'confirm.js': 'text/javascript' } as const;

function staticAssets() {
  const htmx = fs.readFileSync(htmxFile, 'utf8');
  const cache = 'public, max-age=3600';
  const app = new Hono<AppEnv>().get('/htmx.min.js', (c) =>
    c.body(htmx, 200, { 'Content-Type': 'text/javascript', 'Cache-Control': cache }),
  );
  for (const [file, type] of Object.entries(OWN_ASSETS)) {
    const text = fs.readFileSync(path.join(import.meta.dirname, 'static', file), 'utf8');
    app.get(`/${file}`, (c) => c.body(text, 200, { 'Content-Type': type, 'Cache-Control': cache }));
  }
  return app;
}

const MAX_BODY_BYTES = 64 * 1024;
const tooLarge = () => {
  throw new HttpError(413, 'payload_too_large', 'the request body is larger than 64 KiB');
};
const honoBodyLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });
const NO_BODY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The 64 KiB body limit, with the common cases decided from the headers alone. Hono's bodyLimit
 * starts with `c.req.raw.body`, and on @hono/node-server that one property builds a whole undici
 * Request (a web stream, an AbortController) for every request, GETs included: most of a status
 * poll's cost. Only a streamed body (no Content-Length, or chunked) goes through it.
 */
async function limitBody(c: Context<AppEnv>, next: Next) {
  if (NO_BODY_METHODS.has(c.req.method)) return next();
  const length = c.req.header('Content-Length');
  if (length === undefined || c.req.header('Transfer-Encoding') !== undefined) return honoBodyLimit(c, next);
  if (!/^\d+$/.test(length) || Number(length) > MAX_BODY_BYTES) tooLarge();
  return next();
}

/** The whole web tier as one Hono app; tests drive it through `app.request`. */
export function createApp(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler(deps.log));
  app.notFound(routeNotFound);
  // Our own id (not the caller's header): a 500 names it, and so does the log line.
  app.use('*', requestId({ headerName: '' }));
  app.use('*', async (c, next) => {
    c.set('deps', deps);
    await next();
  });
  app.use('*', secureHeaders({ contentSecurityPolicy: undefined }));
  app.use('*', rejectBadRequestText);
  app.route('/', systemRoutes(deps.db));
  app.route('/static', staticAssets());
  app.route('/cli', cliBundle);
  app.route('/static/swagger', swaggerAssets);
  app.use('*', limitBody);
  app.use('*', rejectBadBodyText);
  app.use('*', authenticate);
  // Browsers send cookies cross-site; bearer tokens are never sent implicitly, so they skip these checks.
  app.use('*', requireSameOrigin);
  app.use('*', async (c, next) => (c.req.path === '/login' ? next() : requireCsrfToken(c, next)));
  app.use('*', requirePasswordChanged);
  app.route('/', authRoutes);
  app.route('/', accountRoutes);
  app.route('/api/users', usersApi);
  app.route('/api/tokens', tokensApi);
  app.route('/', accountPages);
  app.route('/api/jobs', jobsApi);
  app.route('/api/scripts', scriptsApi);
  app.route('/api/schedules', schedulesApi);
  app.route('/api/targets', targetsApi);
  app.route('/api/targets', deploymentsApi);
  app.route('/api/targets', logsApi);
  app.route('/api/targets', configsApi);
  app.route('/api/certificates', certificatesApi);
  app.route('/api/notifications', notificationsApi);
  // Reads the route table when first asked, so routes added below are in the document too.
  app.route('/api', openApiRoutes(app));
  app.route('/', pageRoutes);
  app.route('/', auditRoutes);
  // Before targetPages: /targets/new is not a target named new.
  app.route('/', targetFormPages);
  app.route('/', targetPages);
  app.route('/', logPages);
  app.route('/', deploymentPages);
  app.route('/', configPages);
  app.route('/', notificationPages);
  app.route('/', schedulePages);
  app.route('/', settingsRoutes);
  app.use(`${QUEUE_BOARD_PATH}/*`, requireRole('admin'));
  app.use(QUEUE_BOARD_PATH, requireRole('admin'));
  app.route(QUEUE_BOARD_PATH, queueBoard(deps.producer.queue));
  return app;
}

export type App = ReturnType<typeof createApp>;
