import { z } from 'zod';
import { sendControl } from '../db/control.ts';
import {
  findLiveRelease,
  markPruned,
  migratedSince,
  migratingDeploys,
  startDeployment,
  updateDeployment,
} from '../db/deployments.ts';
import { assertEnvWritable, type DeployTarget, envFileOf } from '../worker/deploy-service.ts';
import { buildRelease, cleanHalfMade, goLive } from '../worker/deploy-steps.ts';
import {
  hasRelease,
  layoutOf,
  prepareReleasesDir,
  RELEASE_NAME,
  readCurrent,
  releasesToPrune,
  removeRelease,
} from '../worker/releases.ts';
import { JobConflictError, JobValidationError, UnrecoverableError } from './lib/errors.ts';
import { defineKind, type JobContext, type KindEnv } from './lib/kind.ts';
import { realRepoUrl, repoUrlSecrets } from './lib/repo-credential.ts';
import { openTargetSecrets } from './lib/secret-box.ts';
import { gitRef, isManagedPath, loadTarget, type Target, targetName } from './lib/targets.ts';

const request = z
  .object({
    target: targetName,
    /** Branch, tag or sha to build; the target's branch when neither this nor `release` is given. */
    ref: gitRef.optional(),
    /** A rollback: switch back to this earlier release, without fetching or building. */
    release: z.string().regex(RELEASE_NAME, 'a release name such as 20261123021500-1a2b3c4').optional(),
    acknowledgeMigrations: z.boolean().default(false),
  })
  .refine((r) => !(r.ref && r.release), {
    message: 'give a ref to deploy or a release to roll back to, not both',
    path: ['release'],
  });
type DeployRequest = z.infer<typeof request>;

/** Secrets go to a systemd drop-in or a supervisor program file; a pidfile target has nowhere to put them. */
function assertSecretsDeliverable(target: Target, secrets: Record<string, string>, managed: readonly string[]) {
  // Deckhand's own secrets come from its environment file; a `self` target's go to its build steps only.
  if (Object.keys(secrets).length === 0 || target.spec.manager === 'self') return;
  const file = envFileOf(target);
  if (!file) {
    const how =
      target.spec.manager === 'supervisor'
        ? 'set deploy.programFile and deploy.command so Deckhand can write its environment='
        : 'only systemd and supervisor targets can receive them';
    throw new JobValidationError(`${target.name} has environment secrets but no place to write them: ${how}`);
  }
  try {
    assertEnvWritable(target, secrets);
  } catch (err) {
    throw new JobValidationError(err instanceof Error ? err.message : String(err));
  }
  if (!isManagedPath(file, managed)) {
    throw new JobValidationError(`the environment file ${file} is not under the managed paths`, {
      'deploy.dropIn': [`${file} is not under ${managed.join(', ')}`],
    });
  }
}

async function deployableTarget(env: KindEnv, name: string): Promise<DeployTarget> {
  const target = await loadTarget(env, name);
  if (!target.spec.deploy) {
    throw new JobValidationError(`${name} has no deploy settings`, { target: ['add a deploy section to the target'] });
  }
  const { env: secrets, repo: credential } = openTargetSecrets(env.secrets, target.secretEnv);
  assertSecretsDeliverable(target, secrets, env.managedPaths);
  // The stored URL is masked; git gets the real one, whose credential run() redacts from the job's records.
  const deploy = { ...target.spec.deploy, repo: realRepoUrl(target.spec.deploy.repo, credential) };
  // A deploy of Deckhand migrates Deckhand's own database, wherever the worker finds it.
  const migrateEnv = target.spec.manager === 'self' ? env.ownConnection : undefined;
  return { target, deploy, secrets, migrateEnv };
}

/** Connection URLs, and the passwords inside them, are secrets in a step's output. */
function secretsOf(own: Readonly<Record<string, string>> | undefined): string[] {
  const urls = [own?.DATABASE_URL, own?.REDIS_URL].filter((u): u is string => Boolean(u));
  return urls.flatMap((u) => [u, decodeURIComponent(URL.parse(u)?.password ?? '')]).filter(Boolean);
}

/** A rollback must name a release that was live and still exists, and must own up to later migrations. */
async function checkRollback(env: KindEnv, target: string, req: DeployRequest & { release: string }) {
  const recorded = await findLiveRelease(env.db, target, req.release);
  if (!recorded) {
    throw new JobValidationError(`${req.release} is not a release of ${target} that was live and still exists`, {
      release: ['pick one from the deployments page'],
    });
  }
  const since = migratedSince(await migratingDeploys(env.db, target), recorded.at);
  if (since.length > 0 && !req.acknowledgeMigrations) {
    throw new JobConflictError(
      `migrations ran since ${req.release} (in ${since.map((s) => s.release).join(', ')}); rolling back does not undo them. Send "acknowledgeMigrations": true to roll back anyway.`,
      'migrations_since',
      { deploys: since },
    );
  }
  return recorded;
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

/** Deploys a git ref (or rolls back to an earlier release) with a health-gated switch (DESIGN §1). */
export default defineKind({
  name: 'deploy',
  description: 'Deploy a git ref to a target, or roll back to an earlier release',
  request,
  // Not idempotent: never retried automatically, and a lost deploy stays lost.
  retry: { attempts: 1, backoffMs: 1000 },

  async resolve(req, env) {
    const { target, deploy } = await deployableTarget(env, req.target);
    if (req.release) {
      await checkRollback(env, target.name, { ...req, release: req.release });
      return {
        target: target.name,
        script: null,
        params: { release: req.release, acknowledgeMigrations: req.acknowledgeMigrations },
      };
    }
    return { target: target.name, script: null, params: { ref: req.ref ?? deploy.branch } };
  },

  fromStored: (stored) => ({ target: stored.target, ...stored.params }),

  async run(ctx, req, env) {
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
  },
});
