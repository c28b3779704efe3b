import { sql } from 'drizzle-orm';
import type { Db } from './client.ts';

/** The states in which a job still expects its worker, or a worker, to act on it. */
export const OPEN_STATUSES = ['queued', 'retrying', 'active', 'waiting'] as const;
export const isOpen = (status: string) => (OPEN_STATUSES as readonly string[]).includes(status);

export interface JobStanding {
  status: string;
  /** `host:pid:random` of the worker holding the lease, while one does. */
  leaseOwner: string | null;
  /** Leader (and process group id) of the job's current process. */
  pid: number | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Where each of these jobs stands; ids that are not jobs of this database are absent from the map. */
export async function jobStandings(db: Db, ids: readonly string[]): Promise<Map<string, JobStanding>> {
  const valid = [...new Set(ids.filter((id) => UUID.test(id)))];
  if (valid.length === 0) return new Map();
  const r = await db.execute(
    sql`SELECT id, status, lease_owner, pid FROM jobs WHERE id = ANY(${`{${valid.join(',')}}`}::uuid[])`,
  );
  return new Map(
    (r.rows as Record<string, unknown>[]).map((x) => [
      String(x.id),
      {
        status: String(x.status),
        leaseOwner: (x.lease_owner as string | null) ?? null,
        pid: (x.pid as number | null) ?? null,
      },
    ]),
  );
}

/** The current status of one job, or null if there is no such row. */
export async function jobStatus(db: Db, id: string): Promise<string | null> {
  return (await jobStandings(db, [id])).get(id)?.status ?? null;
}
