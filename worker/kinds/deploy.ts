import { sendControl } from '../../db/control.ts';
import { markPruned, startDeployment, updateDeployment } from '../../db/deployments.ts';
import deploy, { checkRollback, type DeployRequest, deployableTarget } from '../../jobs/deploy.ts';
import { UnrecoverableError } from '../../jobs/lib/errors.ts';
import type { JobContext, KindEnv } from '../../jobs/lib/kind.ts';
import { repoUrlSecrets } from '../../jobs/lib/repo-credential.ts';
import type { DeployTarget } from '../../jobs/lib/service-env.ts';
import { buildRelease, cleanHalfMade, goLive } from '../deploy-steps.ts';
import { hasRelease, layoutOf, prepareReleasesDir, readCurrent, releasesToPrune, removeRelease } from '../releases.ts';
import { defineHandler } from './handler.ts';

/** Connection URLs, and the passwords inside them, are secrets in a step's output. */
function secretsOf(own: Readonly<Record<string, string>> | undefined): string[] {
  const urls = [own?.DATABASE_URL, own?.REDIS_URL].filter((u): u is string => Boolean(u));
  return urls.flatMap((u) => [u, decodeURIComponent(URL.parse(u)?.password ?? '')]).filter(Boolean);
}

/** A rollback's release: one that was live, still on disk, and not the live one. Nothing is fetched or built. */
async function recordedRelease(
  ctx: JobContext,
  env: KindEnv,
  t: DeployTarget,
  req: DeployRequest & { release: string },
  previous: string | null,
) {
  try {
    const recorded = await checkRollback(env, t.target.name, req);
    if (req.release === previous) throw new UnrecoverableError(`${req.release} is already the live release`);
    const layout = layoutOf(t.target.name, t.deploy, env);
    if (!(await hasRelease(layout, req.release))) {
      throw new UnrecoverableError(`${req.release} is missing from ${layout.releasesDir}`);
    }
    const built = { release: req.release, sha: recorded.sha ?? '' };
    await updateDeployment(env.db, ctx.jobId, { ...built, ref: recorded.ref, phase: 'built' });
    ctx.output('stdout', `rolling back to ${req.release}: no fetch, install, build or migrate\n`);
    return built;
  } catch (err) {
    await updateDeployment(env.db, ctx.jobId, { phase: 'failed' });
    throw err;
  }
}

/** Fetches, builds and switches (or switches back), restarts through the manager, health-gates, prunes. */
export default defineHandler(deploy, async (ctx, req, env) => {
  const t = await deployableTarget(env, req.target);
  ctx.redact([...Object.values(t.secrets), ...secretsOf(t.migrateEnv), ...repoUrlSecrets(t.deploy.repo)]);
  const layout = layoutOf(t.target.name, t.deploy, env);
  await prepareReleasesDir(layout);
  const previous = await readCurrent(layout);
  await cleanHalfMade(ctx, env, t.target.name, layout, previous);
  await startDeployment(env.db, {
    jobId: ctx.jobId,
    target: t.target.name,
    ref: req.ref ?? null,
    isRollback: Boolean(req.release),
    previousRelease: previous,
  });
  const built = req.release
    ? await recordedRelease(ctx, env, t, { ...req, release: req.release }, previous)
    : await buildRelease(ctx, env, t, req.ref ?? t.deploy.branch);
  await goLive(ctx, env, t, built.release, previous, Boolean(req.release));
  const doomed = await releasesToPrune(layout, t.deploy.keep, [built.release, previous]);
  for (const r of doomed) await removeRelease(layout, r);
  await markPruned(env.db, t.target.name, doomed);
  if (doomed.length > 0) ctx.output('stdout', `pruned ${doomed.join(', ')}\n`);
  if (t.target.spec.manager === 'self') {
    // The web tier already runs the new release; each worker finishes its jobs and makes way for a fresh one.
    await sendControl(env.db, { type: 'recycle-workers', by: `deploy ${ctx.jobId}` });
    ctx.output('stdout', 'asked the worker processes to restart on the new release once their jobs finish\n');
  }
  await ctx.progress(100, `${t.target.name} is live on ${built.release}`);
  return { release: built.release, sha: built.sha, previousRelease: previous, pruned: doomed };
});
