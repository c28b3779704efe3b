import { asc } from 'drizzle-orm';
import { Hono } from 'hono';
import { targets } from '../../db/schema.ts';
import { maskRepoUrl } from '../../jobs/lib/repo-credential.ts';
import { targetSpec } from '../../jobs/lib/targets.ts';
import { DeploymentsPage, type DeployTargetView } from '../../views/deployments.tsx';
import type { AppDeps, AppEnv } from '../context.ts';
import { pageOf } from '../context.ts';
import { deploymentHistory, liveReleaseOf, rollbackChoices } from '../deployment-service.ts';
import { requireRole } from '../middleware.ts';
import { startJob } from './ui-targets.tsx';

async function deployTargets(deps: AppDeps, only: string | undefined): Promise<DeployTargetView[]> {
  const rows = await deps.db.select().from(targets).orderBy(asc(targets.name));
  const deployable = rows.flatMap((r) => {
    // A row saved by an older version that no longer parses is left out, not a failed page.
    const spec = targetSpec.safeParse(r.spec).data;
    return spec?.deploy && (!only || r.name === only) ? [{ name: r.name, deploy: spec.deploy }] : [];
  });
  return Promise.all(
    deployable.map(async ({ name, deploy }) => {
      const history = await deploymentHistory(deps, name, 50);
      return {
        name,
        repo: maskRepoUrl(deploy.repo),
        branch: deploy.branch,
        current: liveReleaseOf(history),
        releases: await rollbackChoices(deps, name, history),
        history,
      };
    }),
  );
}

/** The deployments page: per target, a deploy form, its releases with one-click rollback, and its history. */
export const deploymentPages = new Hono<AppEnv>()
  .get('/deployments', requireRole('viewer'), async (c) => {
    const list = await deployTargets(c.var.deps, c.req.query('target'));
    return c.html(<DeploymentsPage {...pageOf(c)} targets={list} />);
  })
  .post('/ui/deploy', requireRole('operator'), async (c) => {
    const form = await c.req.parseBody();
    const ref = String(form.ref ?? '').trim();
    await startJob(c, { kind: 'deploy', target: String(form.target ?? ''), ...(ref ? { ref } : {}) });
    return c.body(null, 204);
  })
  .post('/ui/rollback', requireRole('operator'), async (c) => {
    const form = await c.req.parseBody();
    // The confirmation the button asked for named any migrations that ran since this release.
    await startJob(c, {
      kind: 'deploy',
      target: String(form.target ?? ''),
      release: String(form.release ?? ''),
      acknowledgeMigrations: true,
    });
    return c.body(null, 204);
  });
