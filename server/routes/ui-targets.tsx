import { asc } from 'drizzle-orm';
import { Hono } from 'hono';
import { listCertificates } from '../../db/certificates.ts';
import type { Db } from '../../db/client.ts';
import { targets } from '../../db/schema.ts';
import { publicSpec } from '../../jobs/lib/repo-credential.ts';
import type { TargetSpec } from '../../jobs/lib/targets.ts';
import { CertificatesPage } from '../../views/certificates.tsx';
import { TargetRow, TargetsPage } from '../../views/targets.tsx';
import { liveStatus } from '../../worker/adapters/status.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { badRequest, notFound } from '../errors.ts';
import { resolveRequest, submitJob } from '../job-service.ts';
import { requireRole } from '../middleware.ts';
import { describeTargets, findTargetRow, type TargetRow as Row, saveTarget } from '../target-service.ts';
import { toApiCertificate } from './certificates.ts';

/** Each target described, with its live status (cached briefly by liveStatus). */
async function viewsOf(deps: AppDeps, rows: Row[]) {
  const described = await describeTargets(deps, rows);
  return Promise.all(rows.map(async (row, i) => ({ t: described[i]!, status: await liveStatus(row.spec) })));
}

export async function targetViews(deps: AppDeps) {
  return viewsOf(deps, await deps.db.select().from(targets).orderBy(asc(targets.name)));
}

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
    const all = await c.var.deps.db.select().from(targets).orderBy(asc(targets.name));
    const rows = await viewsOf(c.var.deps, all);
    const specs = all.map((r) => ({ name: r.name, json: JSON.stringify(publicSpec(r.spec as TargetSpec), null, 2) }));
    return c.html(<TargetsPage user={c.var.user!} csrfToken={c.var.csrfToken} rows={rows} specs={specs} />);
  })
  .get('/fragments/targets/:name', requireRole('viewer'), async (c) => {
    const row = await findTargetRow(c.var.deps.db, c.req.param('name'));
    if (!row) throw notFound('target');
    const [v] = await viewsOf(c.var.deps, [row]);
    return c.html(<TargetRow t={v!.t} status={v!.status} user={c.var.user!} />);
  })
  .post('/ui/targets', requireRole('admin'), async (c) => {
    const form = await c.req.parseBody();
    let spec: unknown;
    try {
      spec = JSON.parse(String(form.spec ?? ''));
    } catch {
      throw badRequest('the definition is not valid JSON');
    }
    await saveTarget(c.var.deps, c.var.user!, String(form.name ?? ''), spec);
    c.header('HX-Refresh', 'true');
    return c.body(null, 204);
  })
  .post('/ui/targets/:name/:mode{restart|reload}', requireRole('operator'), async (c) => {
    await startJob(c, { kind: 'restart', target: c.req.param('name'), mode: c.req.param('mode') });
    return c.body(null, 204);
  })
  .get('/certificates', requireRole('viewer'), async (c) => {
    const certificates = (await listCertificates(c.var.deps.db)).map((r) => toApiCertificate(r));
    const tlsTargets = await tlsTargetNames(c.var.deps.db);
    return c.html(
      <CertificatesPage
        user={c.var.user!}
        csrfToken={c.var.csrfToken}
        certificates={certificates}
        tlsTargets={tlsTargets}
      />,
    );
  })
  .post('/ui/cert-reload', requireRole('operator'), async (c) => {
    const form = await c.req.parseBody();
    await startJob(c, { kind: 'cert-reload', target: String(form.target ?? ''), bundle: String(form.bundle ?? '') });
    return c.body(null, 204);
  });
