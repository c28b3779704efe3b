import { z } from 'zod';
import { findLiveRelease, migratedSince, migratingDeploys } from '../db/deployments.ts';
import { JobConflictError, JobValidationError } from './lib/errors.ts';
import { defineKind, type KindEnv } from './lib/kind.ts';
import { RELEASE_NAME } from './lib/release-name.ts';
import { realRepoUrl } from './lib/repo-credential.ts';
import { openTargetSecrets } from './lib/secret-box.ts';
import { assertEnvWritable, type DeployTarget, envFileOf } from './lib/service-env.ts';
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
export type DeployRequest = z.infer<typeof request>;

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

export async function deployableTarget(env: KindEnv, name: string): Promise<DeployTarget> {
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

/** A rollback must name a release that was live and still exists, and must own up to later migrations. */
export async function checkRollback(env: KindEnv, target: string, req: DeployRequest & { release: string }) {
  const recorded = await findLiveRelease(env.db, target, req.release);
  if (!recorded) {
    throw new JobValidationError(`${req.release} is not a release of ${target} that was live and still exists`, {
      release: ['pick one from the deployments page'],
    });
  }
  const since = migratedSince(await migratingDeploys(env.db, target, recorded.at), recorded.at);
  if (since.length > 0 && !req.acknowledgeMigrations) {
    throw new JobConflictError(
      `migrations ran since ${req.release} (in ${since.map((s) => s.release).join(', ')}); rolling back does not undo them. Send "acknowledgeMigrations": true to roll back anyway.`,
      'migrations_since',
      { deploys: since },
    );
  }
  return recorded;
}

/** Deploys a git ref (or rolls back to an earlier release) with a health-gated switch (DESIGN §1; worker/kinds/deploy.ts). */
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
});
