import { asc } from 'drizzle-orm';
import { Hono } from 'hono';
import { listCertificates } from '../../db/certificates.ts';
import type { Db } from '../../db/client.ts';
import { targets } from '../../db/schema.ts';
import { targetSpec } from '../../jobs/lib/targets.ts';
import { CertificatesPage } from '../../views/certificates.tsx';
import { TargetPage } from '../../views/target-page.tsx';
import { Overview, TargetRow, TargetsPage } from '../../views/targets.tsx';
import type { AppEnv } from '../context.ts';
import { pageOf } from '../context.ts';
import { badRequest, forbidden, notFound } from '../errors.ts';
import { resolveRequest, submitJob } from '../job-service.ts';
import { requireRole } from '../middleware.ts';
import { overviewViews, restartViews } from '../status-views.ts';
import { issuesByPath } from '../target-form.ts';
import { saveTarget } from '../target-service.ts';
import { parseFormJson } from '../text-guard.ts';
import { toApiCertificate } from './certificates.ts';

const tlsTargetNames = async (db: Db) =>
  (await db.select().from(targets).orderBy(asc(targets.name))).filter((r) => r.spec.tls).map((r) => r.name);

/** Enqueues from a page's form and sends the browser to the job's page. */
export async function startJob(c: { var: AppEnv['Variables']; header(k: string, v: string): void }, body: object) {
  const stored = await resolveRequest(c.var.deps, body);
  const { id } = await submitJob(c.var.deps, c.var.user!, stored);
  c.header('HX-Redirect', `/jobs/${id}`);
}

export const targetPages = new Hono<AppEnv>()
  .get('/targets', requireRole('viewer'), async (c) => {
    const { hosts, rows } = await overviewViews(c.var.deps);
    return c.html(<TargetsPage {...pageOf(c)} hosts={hosts} rows={rows} />);
  })
  .get('/fragments/overview', requireRole('viewer'), async (c) => {
    const { hosts, rows } = await overviewViews(c.var.deps);
    return c.html(<Overview hosts={hosts} rows={rows} user={c.var.user!} />);
  })
  .get('/fragments/targets/:name', requireRole('viewer'), async (c) => {
    const [v] = (await overviewViews(c.var.deps, c.req.param('name'))).rows;
    if (!v) throw notFound('target');
    return c.html(<TargetRow t={v.t} status={v.status} user={c.var.user!} />);
  })
  .get('/targets/:name', requireRole('viewer'), async (c) => {
    const name = c.req.param('name');
    const [row] = (await overviewViews(c.var.deps, name)).rows;
    if (!row) throw notFound('target');
    const restarts = await restartViews(c.var.deps, name);
    return c.html(<TargetPage {...pageOf(c)} row={row} restarts={restarts} />);
  })
  .post('/ui/targets', requireRole('admin'), async (c) => {
    // A JSON document (the import page): an export carries its name, which the form's name overrides.
    const form = await c.req.parseBody();
    const parsedDoc = parseFormJson(String(form.spec ?? ''), 'spec');
    if (!parsedDoc) throw badRequest('the definition is not valid JSON');
    const doc = parsedDoc.value;
    const { name: docName, ...spec } = (doc !== null && typeof doc === 'object' ? doc : {}) as { name?: unknown };
    const name = String(form.name ?? '').trim() || (typeof docName === 'string' ? docName : '');
    const body = typeof doc === 'object' && !Array.isArray(doc) ? spec : doc;
    // Checked first by full path (tls.certPath, not just tls), as the form shows its errors.
    const { env: _env, ...settings } = (body ?? {}) as { env?: unknown };
    const parsed = targetSpec.safeParse(settings);
    if (!parsed.success) throw badRequest('invalid target', { fieldErrors: issuesByPath(parsed.error) });
    await saveTarget(c.var.deps, c.var.user!, name, body);
    c.header('HX-Redirect', `/targets/${name}`);
    return c.body(null, 204);
  })
  .post('/ui/targets/:name/:mode{restart|reload|start|stop}', requireRole('operator'), async (c) => {
    const mode = c.req.param('mode');
    if (mode === 'stop' && c.var.user!.role !== 'admin') throw forbidden('stopping a target is for admins');
    await startJob(c, { kind: 'restart', target: c.req.param('name'), mode });
    return c.body(null, 204);
  })
  .get('/certificates', requireRole('viewer'), async (c) => {
    const certificates = (await listCertificates(c.var.deps.db)).map((r) => toApiCertificate(r));
    const tlsTargets = await tlsTargetNames(c.var.deps.db);
    return c.html(<CertificatesPage {...pageOf(c)} certificates={certificates} tlsTargets={tlsTargets} />);
  })
  .post('/ui/cert-reload', requireRole('operator'), async (c) => {
    const form = await c.req.parseBody();
    await startJob(c, { kind: 'cert-reload', target: String(form.target ?? ''), bundle: String(form.bundle ?? '') });
    return c.body(null, 204);
  });
