import type pg from 'pg';
import type { HostFigures, TargetStatus } from './status-shapes.ts';

/**
 * The status publisher's writes (DESIGN §9): one worker per host, holding that host's advisory
 * lock, runs these on its own connection, so a lost connection also ends its turn.
 */
type Conn = Pick<pg.PoolClient, 'query'>;

/** The class of advisory locks that elect each host's status publisher (the key is hashtext(host)). */
const PUBLISHER_LOCK_CLASS = 0x44434b01;

export async function tryPublisherLock(conn: Conn, host: string): Promise<boolean> {
  const r = await conn.query('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [PUBLISHER_LOCK_CLASS, host]);
  return r.rows[0]?.ok === true;
}

export async function releasePublisherLock(conn: Conn, host: string): Promise<void> {
  await conn.query('SELECT pg_advisory_unlock($1, hashtext($2))', [PUBLISHER_LOCK_CLASS, host]);
}

export interface HostTargetRow {
  name: string;
  spec: unknown;
  /** When the target's definition was last saved. */
  updatedAt: Date;
  previous: TargetStatus | null;
}

/** The host's targets (null host: the local one) with what was published for each last time, and the database's clock. */
export async function hostTargets(
  conn: Conn,
  host: string,
  local: boolean,
): Promise<{ now: Date; rows: HostTargetRow[] }> {
  const r = await conn.query(
    `SELECT t.name, t.spec, t.updated_at, ts.status AS previous, now() AS now FROM targets t
     LEFT JOIN target_status ts ON ts.target = t.name
     WHERE t.host = $1 OR (t.host IS NULL AND $2) ORDER BY t.name`,
    [host, local],
  );
  const now = r.rows[0]?.now ?? (await conn.query('SELECT now() AS now')).rows[0].now;
  return {
    now,
    rows: r.rows.map(({ name, spec, updated_at, previous }) => ({ name, spec, updatedAt: updated_at, previous })),
  };
}

/**
 * Whether a Deckhand job on `target` ran at any time since `since` (a restart, deploy,
 * cert-reload, config change…): such a job explains a new process.
 */
export async function jobRanOnTargetSince(conn: Conn, target: string, since: string): Promise<boolean> {
  const r = await conn.query(
    `SELECT 1 FROM jobs WHERE target = $1 AND started_at IS NOT NULL
       AND (finished_at IS NULL OR finished_at >= $2::timestamptz - interval '1 second') LIMIT 1`,
    [target, since],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function recordUnexpectedRestart(
  conn: Conn,
  r: { target: string; oldPid: number | null; newPid: number | null; detail: string },
): Promise<void> {
  await conn.query('INSERT INTO target_restarts (target, old_pid, new_pid, detail) VALUES ($1, $2, $3, $4)', [
    r.target,
    r.oldPid,
    r.newPid,
    r.detail,
  ]);
}

/** Writes the host's figures and every target's status in one statement; drops rows of targets gone from the host. */
export async function publishStatus(
  conn: Conn,
  p: { host: string; worker: string; figures: HostFigures; targets: { name: string; status: TargetStatus }[] },
): Promise<void> {
  await conn.query(
    `WITH h AS (
       INSERT INTO host_status (host, figures, worker, updated_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (host) DO UPDATE SET figures = excluded.figures, worker = excluded.worker, updated_at = now()
     ), t AS (
       INSERT INTO target_status (target, host, status, updated_at)
       SELECT name, $1, status, now() FROM jsonb_to_recordset($4::jsonb) AS x(name text, status jsonb)
       ON CONFLICT (target) DO UPDATE SET host = excluded.host, status = excluded.status, updated_at = now()
     )
     DELETE FROM target_status WHERE host = $1
       AND target NOT IN (SELECT name FROM jsonb_to_recordset($4::jsonb) AS x(name text, status jsonb))`,
    [p.host, JSON.stringify(p.figures), p.worker, JSON.stringify(p.targets)],
  );
}
