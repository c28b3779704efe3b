import { listDeployments, liveReleases, migratedSince, migratingDeploys } from '../db/deployments.ts';
import type { AppDeps } from './context.ts';

type ListedRow = Awaited<ReturnType<typeof listDeployments>>[number];

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** One deploy as the history shows it: the job's state, and how far its release got. */
export function toApiDeployment(r: ListedRow) {
  const params = r.params as { ref?: string; release?: string };
  return {
    jobId: r.jobId,
    target: r.target,
    ref: r.d?.ref ?? params.ref ?? null,
    sha: r.d?.sha ?? null,
    release: r.d?.release ?? params.release ?? null,
    isRollback: r.d?.isRollback ?? Boolean(params.release),
    previousRelease: r.d?.previousRelease ?? null,
    /** null until a worker starts it; see db/deployments.ts for the phases. */
    phase: r.d?.phase ?? null,
    migrated: r.d?.migrated ?? false,
    rolledBackTo: r.d?.rolledBackTo ?? null,
    status: r.status,
    error: r.error,
    requestedBy: r.requestedBy,
    createdAt: iso(r.createdAt),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
    durationMs: r.startedAt && r.finishedAt ? r.finishedAt.getTime() - r.startedAt.getTime() : null,
    url: `/jobs/${r.jobId}`,
  };
}
export type ApiDeployment = ReturnType<typeof toApiDeployment>;

export async function deploymentHistory(deps: AppDeps, target: string | undefined, limit = 100) {
  return (await listDeployments(deps.db, { target, limit })).map(toApiDeployment);
}

/** The release that is live according to the history: what the newest deploy that got past its switch left behind. */
export function liveReleaseOf(history: ApiDeployment[]): string | null {
  for (const d of history) {
    if (d.phase === 'live' || d.phase === 'switched') return d.release;
    if (d.phase === 'rolled-back') return d.rolledBackTo;
  }
  return null;
}

/** Releases a rollback may go to, newest first, each with the migrations that ran since it. */
export async function rollbackChoices(deps: AppDeps, target: string, history: ApiDeployment[]) {
  const current = liveReleaseOf(history);
  const releases = await liveReleases(deps.db, target);
  const oldest = releases.reduce<Date | undefined>((min, r) => (!min || r.at < min ? r.at : min), undefined);
  const migrating = releases.length > 0 ? await migratingDeploys(deps.db, target, oldest) : [];
  return releases.map((r) => ({
    release: r.release!,
    sha: r.sha,
    ref: r.ref,
    deployedAt: iso(r.at),
    current: r.release === current,
    migrationsSince: migratedSince(migrating, r.at).map((m) => m.release),
  }));
}
