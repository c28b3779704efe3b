import { and, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { terminalStatuses } from './job-states.ts';
import { deployments, jobs, users } from './schema.ts';

/** Where a deploy got to; see the schema's note on `deployments`. */
export type DeployPhase =
  | 'preparing'
  | 'built'
  | 'switched'
  | 'live'
  | 'failed'
  | 'rolled-back'
  /** A half-made release whose job was lost; its directory was removed. */
  | 'abandoned';

export type DeploymentRow = typeof deployments.$inferSelect;

export async function startDeployment(
  db: Db,
  row: { jobId: string; target: string; ref: string | null; isRollback: boolean; previousRelease: string | null },
): Promise<void> {
  await db
    .insert(deployments)
    .values(row)
    .onConflictDoUpdate({ target: deployments.jobId, set: { ...row, phase: 'preparing' } });
}

export async function updateDeployment(
  db: Db,
  jobId: string,
  set: Partial<Pick<DeploymentRow, 'ref' | 'sha' | 'release' | 'phase' | 'migrated' | 'rolledBackTo'>>,
): Promise<void> {
  const ends = set.phase === 'live' || set.phase === 'failed' || set.phase === 'rolled-back';
  await db
    .update(deployments)
    .set({ ...set, ...(ends ? { finishedAt: new Date() } : {}) })
    .where(eq(deployments.jobId, jobId));
}

/** Releases of a target that were live once and whose directory still exists, newest first. */
export async function liveReleases(db: Db, target: string) {
  return db
    .selectDistinctOn([deployments.release], {
      release: deployments.release,
      sha: deployments.sha,
      ref: deployments.ref,
      at: deployments.createdAt,
    })
    .from(deployments)
    .where(and(eq(deployments.target, target), eq(deployments.phase, 'live'), eq(deployments.pruned, false)))
    .orderBy(deployments.release, desc(deployments.createdAt))
    .then((rows) => rows.filter((r) => r.release !== null).sort((a, b) => (a.release! < b.release! ? 1 : -1)));
}

/** The sha a release was built from, if it was ever live and has not been pruned. */
export async function findLiveRelease(db: Db, target: string, release: string) {
  const rows = await liveReleases(db, target);
  return rows.find((r) => r.release === release) ?? null;
}

/**
 * Deploys of a target whose migrate step ran (their schema changes stay on a rollback past them),
 * after `since` when given: only those after the oldest release still offered matter, and a year of
 * deploys must not be read for every page.
 */
export async function migratingDeploys(db: Db, target: string, since?: Date) {
  return db
    .select({ jobId: deployments.jobId, release: deployments.release, at: deployments.createdAt })
    .from(deployments)
    .where(
      and(
        eq(deployments.target, target),
        eq(deployments.migrated, true),
        since ? gt(deployments.createdAt, since) : undefined,
      ),
    );
}

/** Of those, the ones after a release was last made live (`at` from liveReleases). */
export const migratedSince = (migrating: Awaited<ReturnType<typeof migratingDeploys>>, liveAt: Date) =>
  migrating.filter((m) => m.at > liveAt);

/** Rows of earlier jobs that stopped before their release was switched in (the job was lost). */
export async function halfMadeReleases(db: Db, target: string, jobId: string) {
  return db
    .select({ jobId: deployments.jobId, release: deployments.release, isRollback: deployments.isRollback })
    .from(deployments)
    .innerJoin(jobs, eq(jobs.id, deployments.jobId))
    .where(
      and(
        eq(deployments.target, target),
        inArray(deployments.phase, ['preparing', 'built']),
        sql`${deployments.jobId} <> ${jobId}`,
        inArray(jobs.status, [...terminalStatuses]),
      ),
    );
}

export async function markPruned(db: Db, target: string, releases: string[]): Promise<void> {
  if (releases.length === 0) return;
  await db
    .update(deployments)
    .set({ pruned: true })
    .where(and(eq(deployments.target, target), inArray(deployments.release, releases)));
}

/**
 * The deployments page: every deploy job of every target (or one), newest first, with how far it got.
 * The page's jobs are picked first (an index scan of jobs_deploys_idx or jobs_kind_num_idx that stops
 * at `limit`), then joined: joining first made PostgreSQL read every deploy of the target.
 */
export async function listDeployments(db: Db, opts: { target?: string; limit: number }) {
  const page = db
    .select({ num: jobs.num })
    .from(jobs)
    .where(and(eq(jobs.kind, 'deploy'), opts.target ? eq(jobs.target, opts.target) : undefined))
    .orderBy(desc(jobs.num))
    .limit(opts.limit)
    .as('page');
  return db
    .select({
      jobId: jobs.id,
      target: jobs.target,
      params: jobs.params,
      status: jobs.status,
      error: jobs.error,
      createdAt: jobs.createdAt,
      startedAt: jobs.startedAt,
      finishedAt: jobs.finishedAt,
      requestedBy: users.username,
      d: deployments,
    })
    .from(jobs)
    .innerJoin(page, eq(page.num, jobs.num))
    .innerJoin(users, eq(users.id, jobs.requestedBy))
    .leftJoin(deployments, eq(deployments.jobId, jobs.id))
    .orderBy(desc(jobs.num));
}
