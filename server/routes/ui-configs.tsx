import { asc } from 'drizzle-orm';
import { Hono } from 'hono';
import { targets } from '../../db/schema.ts';
import { targetSpec } from '../../jobs/lib/targets.ts';
import {
  ConfigFilePage,
  ConfigHistoryPage,
  ConfigListPage,
  ConfigTargetsPage,
  Diff,
  NoWorkerPage,
} from '../../views/configs.tsx';
import {
  adoptConfig,
  configHistory,
  configTarget,
  driftDiff,
  listConfigs,
  previewDiff,
  readConfig,
} from '../config-service.ts';
import type { AppEnv } from '../context.ts';
import { pageOf } from '../context.ts';
import { errorHandler } from '../error-response.tsx';
import { badRequest, HttpError } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import { startJob } from './ui-targets.tsx';

/** A form field as text; a missing or repeated field is a 400 naming it. */
async function formOf(req: { parseBody(): Promise<Record<string, unknown>> }): Promise<(name: string) => string> {
  const form = await req.parseBody();
  return (name) => {
    const v = form[name];
    if (typeof v !== 'string') throw badRequest(`${name} is missing`, { fieldErrors: { [name]: ['required'] } });
    return v;
  };
}

const pathOf = (q: string | undefined) => {
  if (!q) throw badRequest('path is missing', { fieldErrors: { path: ['required'] } });
  return q;
};

/** Pages, not JSON, when no worker serves the target's host (DESIGN §9). */
export const configPages = new Hono<AppEnv>().onError((err, c) => {
  if (!(err instanceof HttpError && err.code === 'host_unavailable') || c.req.header('HX-Request'))
    return errorHandler(c.var.deps.log)(err, c);
  const target = c.req.param('name') ?? '';
  return c.html(<NoWorkerPage {...pageOf(c)} target={target} message={err.message} />, 503);
});

/**
 * The config pages (DESIGN §10): per target a list with drift and site toggles, a file view with
 * line numbers, drift notice and editor (diff preview, Test, Apply), and the history with Restore.
 * Every change is a `config` job (admin-only); adopting records a version directly.
 */
configPages
  .get('/configs', requireRole('viewer'), async (c) => {
    const rows = await c.var.deps.db.select().from(targets).orderBy(asc(targets.name));
    const names = rows.filter((r) => targetSpec.safeParse(r.spec).data?.configs).map((r) => r.name);
    return c.html(<ConfigTargetsPage {...pageOf(c)} targets={names} />);
  })
  .get('/targets/:name/configs', requireRole('viewer'), async (c) => {
    const t = await configTarget(c.var.deps, c.req.param('name'));
    const items = await listConfigs(c.var.deps, t);
    return c.html(<ConfigListPage {...pageOf(c)} target={t.name} items={items} />);
  })
  .get('/targets/:name/configs/file', requireRole('viewer'), async (c) => {
    const t = await configTarget(c.var.deps, c.req.param('name'));
    const f = await readConfig(c.var.deps, t, pathOf(c.req.query('path')));
    const file = { ...f, target: t.name, driftDiff: await driftDiff(c.var.deps, t, f) };
    return c.html(<ConfigFilePage {...pageOf(c)} file={file} />);
  })
  .get('/targets/:name/configs/history', requireRole('viewer'), async (c) => {
    const t = await configTarget(c.var.deps, c.req.param('name'));
    const file = pathOf(c.req.query('path'));
    const versions = await configHistory(c.var.deps, t, file);
    return c.html(<ConfigHistoryPage {...pageOf(c)} target={t.name} path={file} versions={versions} />);
  })
  .post('/ui/configs/preview', requireRole('admin'), async (c) => {
    const field = await formOf(c.req);
    const t = await configTarget(c.var.deps, field('target'));
    const diff = await previewDiff(c.var.deps, t, field('path'), field('text'));
    return c.html(
      <section class="preview">
        <h2>Changes against the live file</h2>
        <Diff text={diff} />
      </section>,
    );
  })
  .post('/ui/configs/apply', requireRole('admin'), async (c) => {
    const field = await formOf(c.req);
    const [target, path, text, comment] = ['target', 'path', 'text', 'comment'].map(field);
    await startJob(c, { kind: 'config', target, path, text, comment });
    return c.body(null, 204);
  })
  .post('/ui/configs/test', requireRole('admin'), async (c) => {
    const field = await formOf(c.req);
    const [target, path, text, comment] = ['target', 'path', 'text', 'comment'].map(field);
    await startJob(c, { kind: 'config', target, path, text, comment, test: true });
    return c.body(null, 204);
  })
  .post('/ui/configs/restore', requireRole('admin'), async (c) => {
    const field = await formOf(c.req);
    const version = Number(field('version'));
    await startJob(c, {
      kind: 'config',
      target: field('target'),
      path: field('path'),
      version,
      comment: field('comment'),
    });
    return c.body(null, 204);
  })
  .post('/ui/configs/enable', requireRole('admin'), async (c) => {
    const field = await formOf(c.req);
    const enabled = field('enabled') === 'true';
    await startJob(c, {
      kind: 'config',
      target: field('target'),
      path: field('path'),
      enabled,
      comment: field('comment'),
    });
    return c.body(null, 204);
  })
  .post('/ui/configs/adopt', requireRole('admin'), async (c) => {
    const field = await formOf(c.req);
    const t = await configTarget(c.var.deps, field('target'));
    const path = field('path');
    await adoptConfig(c.var.deps, c.var.user!, t, path, field('comment'));
    c.header('HX-Redirect', `/targets/${t.name}/configs/file?path=${encodeURIComponent(path)}`);
    return c.body(null, 204);
  });
