import { halfMadeReleases, updateDeployment } from '../db/deployments.ts';
import { UnrecoverableError } from '../jobs/lib/errors.ts';
import type { JobContext, KindEnv } from '../jobs/lib/kind.ts';
import type { DeployTarget } from '../jobs/lib/service-env.ts';
import type { Exec } from './adapters/types.ts';
import { restartRelease } from './deploy-service.ts';
import { checkout, fetchAndResolve } from './git-mirror.ts';
import { layoutOf, type ReleaseLayout, releaseDirOf, releaseName, removeRelease, switchCurrent } from './releases.ts';

/** The deploy job's steps (worker/kinds/deploy.ts runs them in order); each reports progress and streams output. */

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Removes release directories of earlier deploys that were lost before their switch.
 * A lost rollback names an old, good release: that one is kept.
 */
export async function cleanHalfMade(
  ctx: JobContext,
  env: KindEnv,
  target: string,
  layout: ReleaseLayout,
  live: string | null,
) {
  for (const row of await halfMadeReleases(env.db, target, ctx.jobId)) {
    if (row.release && row.release !== live && !row.isRollback) {
      await removeRelease(layout, row.release);
      ctx.output('stdout', `removed ${row.release}, left half-made by job ${row.jobId}\n`);
    }
    await updateDeployment(env.db, row.jobId, { phase: 'abandoned' });
  }
}

/** Steps 1–5: resolve, check out, install, build, migrate. On failure the new directory goes and `current` is untouched. */
export async function buildRelease(ctx: JobContext, env: KindEnv, t: DeployTarget, ref: string) {
  const layout = layoutOf(t.target.name, t.deploy, env);
  let release: string | null = null;
  try {
    await ctx.progress(5, `resolving ${ref}`);
    const sha = await fetchAndResolve(ctx, layout.gitDir, t.deploy.repo, ref);
    const name = releaseName(new Date(), sha);
    release = name;
    ctx.output('stdout', `${ref} is ${sha}\n`);
    await updateDeployment(env.db, ctx.jobId, { sha, release: name });
    await ctx.progress(15, `checking out ${sha.slice(0, 7)} into ${name}`);
    const dir = await checkout(ctx, layout.gitDir, await releaseDirOf(layout, name), sha, layout.managedPaths);
    const stepEnv = {
      ...t.secrets,
      ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
      DECKHAND_RELEASE: name,
    };
    const steps = [
      [25, 'install', t.deploy.install],
      [45, 'build', t.deploy.build],
      [60, 'migrate', t.deploy.migrate],
    ] as const;
    for (const [percent, step, argv] of steps) {
      if (!argv) continue;
      const [file, ...args] = argv as [string, ...string[]];
      await ctx.progress(percent, `${step}: ${argv.join(' ')}`);
      // Recorded before it runs: a migration that failed halfway may still have changed the schema.
      if (step === 'migrate') await updateDeployment(env.db, ctx.jobId, { migrated: true });
      const r = await ctx.exec(file, args, {
        cwd: dir,
        env: step === 'migrate' ? { ...t.migrateEnv, ...stepEnv } : stepEnv,
        timeoutMs: t.deploy.stepTimeoutSec * 1000,
      });
      if (r.exitCode !== 0)
        throw new UnrecoverableError(`${step} failed: ${file} exited with ${r.exitCode ?? r.signal}`);
    }
    await updateDeployment(env.db, ctx.jobId, { phase: 'built' });
    return { release: name, sha };
  } catch (err) {
    if (release) await removeRelease(layout, release);
    await updateDeployment(env.db, ctx.jobId, { phase: 'failed' });
    throw new UnrecoverableError(`${message(err)}; the live release is untouched`);
  }
}

/** Steps 6–8; if the restart or health check fails, `current` goes back to `previous`, which is restarted and checked. */
export async function goLive(
  ctx: JobContext,
  env: KindEnv,
  t: DeployTarget,
  release: string,
  previous: string | null,
  isRollback: boolean,
) {
  const layout = layoutOf(t.target.name, t.deploy, env);
  await ctx.progress(70, `switching current to ${release}`);
  await switchCurrent(layout, release);
  await updateDeployment(env.db, ctx.jobId, { phase: 'switched' });
  try {
    await restartRelease(ctx, t.target, layout, t.secrets, {
      db: env.db,
      exec: ctx.exec,
      signal: ctx.signal,
      progress: ctx.progress,
    });
  } catch (err) {
    const reason = ctx.signal.aborted ? message(ctx.signal.reason) : message(err);
    if (!previous) {
      await updateDeployment(env.db, ctx.jobId, { phase: 'failed' });
      throw new UnrecoverableError(`${reason}; there is no earlier release to roll back to`);
    }
    ctx.output('stderr', `${reason}\nrolling back to ${previous}\n`);
    // Putting the old release back must finish even when the job is being cancelled.
    const exec: Exec = (file, args, opts) => ctx.exec(file, args, { ...opts, unstoppable: true });
    const progress = (_: number, step: string) => ctx.progress(95, `rollback: ${step}`);
    try {
      await switchCurrent(layout, previous);
      await restartRelease(ctx, t.target, layout, t.secrets, {
        db: env.db,
        exec,
        signal: new AbortController().signal,
        progress,
      });
    } catch (rollbackErr) {
      await updateDeployment(env.db, ctx.jobId, { phase: 'failed', rolledBackTo: previous });
      throw new UnrecoverableError(`${reason}; rolling back to ${previous} failed too: ${message(rollbackErr)}`);
    }
    await updateDeployment(env.db, ctx.jobId, { phase: 'rolled-back', rolledBackTo: previous });
    // A release that failed its health check is never offered again; a rollback's target is an old one, kept.
    if (!isRollback) await removeRelease(layout, release);
    throw new UnrecoverableError(`${reason}; rolled back to ${previous}, which is running and healthy`);
  }
  await updateDeployment(env.db, ctx.jobId, { phase: 'live' });
}
