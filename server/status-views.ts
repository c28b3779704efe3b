import { listUnexpectedRestarts, readOverview, type TargetOverviewRow } from '../db/status-overview.ts';
import { staleAfterMs } from '../db/status-shapes.ts';
import type { HostCardView, RestartView, TargetRowView, TargetStatusView } from '../views/types.ts';
import type { AppDeps } from './context.ts';

function statusView(r: TargetOverviewRow, now: number): TargetStatusView {
  const s = r.status;
  const known = r.fresh && s !== null;
  const started = s?.startedAt ? Date.parse(s.startedAt) : Number.NaN;
  return {
    known,
    running: known && s.running,
    pid: known ? s.pid : null,
    startedAt: known ? s.startedAt : null,
    uptimeSec: known && s.running && Number.isFinite(started) ? Math.max(0, Math.round((now - started) / 1000)) : null,
    detail: known ? s.detail : 'no worker is serving this host',
    certDaysLeft: s?.certDaysLeft ?? null,
    certError: s?.certError ?? null,
    restarts24h: Number(r.restarts24h),
  };
}

/**
 * The dashboard's hosts and targets as views take them, from what workers published
 * (DESIGN §9): one query, never a process or a file of the host.
 */
export async function overviewViews(
  deps: AppDeps,
  target?: string,
): Promise<{ hosts: HostCardView[]; rows: TargetRowView[] }> {
  const o = await readOverview(deps.db, {
    localHost: deps.config.DECKHAND_HOST_NAME,
    staleMs: staleAfterMs(deps.config.DECKHAND_STATUS_INTERVAL_MS),
    target,
  });
  const now = Date.parse(o.now);
  return {
    hosts: o.hosts.map((h) => ({ host: h.host, figures: h.figures, updatedAt: h.updatedAt, serving: h.fresh })),
    rows: o.targets.map((r) => ({
      t: {
        name: r.name,
        manager: r.manager,
        host: r.host,
        description: r.description ?? undefined,
        tls: r.tlsProbe ? { probe: r.tlsProbe } : undefined,
        deploy: r.deployBranch ? { branch: r.deployBranch } : undefined,
        configs: r.hasConfigs,
        lock: r.lock,
        lastJob: r.lastJob,
      },
      status: statusView(r, now),
    })),
  };
}

export const restartViews = (deps: AppDeps, target: string): Promise<RestartView[]> =>
  listUnexpectedRestarts(deps.db, target);
