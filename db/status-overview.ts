import type { Db } from './client.ts';
import type { HostFigures, TargetStatus } from './status-shapes.ts';

export interface HostStatusRow {
  host: string;
  figures: HostFigures | null;
  updatedAt: string | null;
  /** Published within the stale limit: some worker serves this host. */
  fresh: boolean;
}

export interface TargetOverviewRow {
  name: string;
  host: string;
  manager: string;
  description: string | null;
  tlsProbe: string | null;
  deployBranch: string | null;
  hasConfigs: boolean;
  status: TargetStatus | null;
  fresh: boolean;
  restarts24h: number;
  lastJob: { id: string; kind: string; status: string } | null;
  lock: { jobId: string; kind: string } | null;
}

export interface Overview {
  now: string;
  hosts: HostStatusRow[];
  targets: TargetOverviewRow[];
}

/**
 * Everything the dashboard polls for, in one statement (DESIGN §9: pages read status from
 * PostgreSQL only): each host's published figures, and each target with its published status,
 * its unexpected restarts of the last 24 h, its last job and its lock holder.
 */
export async function readOverview(
  db: Db,
  o: { localHost: string; staleMs: number; target?: string | undefined },
): Promise<Overview> {
  const r = await db.$client.query(
    `WITH t AS (
       SELECT name, spec, coalesce(host, $1) AS host FROM targets WHERE $3::text IS NULL OR name = $3
     ), fresh_after AS (SELECT now() - $2 * interval '1 millisecond' AS at)
     SELECT now() AS now,
       (SELECT coalesce(json_agg(json_build_object(
           'host', h.host, 'figures', hs.figures, 'updatedAt', hs.updated_at,
           'fresh', coalesce(hs.updated_at > (SELECT at FROM fresh_after), false)) ORDER BY h.host), '[]')
        FROM (SELECT $1::text AS host UNION SELECT host FROM t) h
        LEFT JOIN host_status hs ON hs.host = h.host) AS hosts,
       (SELECT coalesce(json_agg(json_build_object(
           'name', t.name, 'host', t.host, 'manager', t.spec->>'manager',
           'description', t.spec->>'description', 'tlsProbe', t.spec->'tls'->>'probe',
           'deployBranch', CASE WHEN t.spec ? 'deploy' THEN coalesce(t.spec->'deploy'->>'branch', 'main') END,
           'hasConfigs', t.spec ? 'configs',
           'status', ts.status,
           'fresh', coalesce(ts.updated_at > (SELECT at FROM fresh_after), false),
           'restarts24h', (SELECT count(*) FROM target_restarts r
                           WHERE r.target = t.name AND r.at > now() - interval '24 hours'),
           'lastJob', (SELECT json_build_object('id', j.id, 'kind', j.kind, 'status', j.status) FROM jobs j
                       WHERE j.target = t.name ORDER BY j.num DESC LIMIT 1),
           'lock', (SELECT json_build_object('jobId', l.job_id, 'kind', j.kind) FROM target_locks l
                    JOIN jobs j ON j.id = l.job_id WHERE l.target = t.name)
         ) ORDER BY t.name), '[]')
        FROM t LEFT JOIN target_status ts ON ts.target = t.name AND ts.host = t.host) AS targets`,
    [o.localHost, o.staleMs, o.target ?? null],
  );
  const row = r.rows[0];
  return { now: new Date(row.now).toISOString(), hosts: row.hosts, targets: row.targets };
}

export interface RestartRow {
  at: string;
  oldPid: number | null;
  newPid: number | null;
  detail: string;
}

/** A target's unexpected restarts, newest first. */
export async function listUnexpectedRestarts(db: Db, target: string, limit = 100): Promise<RestartRow[]> {
  const r = await db.$client.query(
    `SELECT at, old_pid, new_pid, detail FROM target_restarts WHERE target = $1 ORDER BY at DESC LIMIT $2`,
    [target, limit],
  );
  return r.rows.map((x) => ({
    at: new Date(x.at).toISOString(),
    oldPid: x.old_pid,
    newPid: x.new_pid,
    detail: x.detail,
  }));
}
