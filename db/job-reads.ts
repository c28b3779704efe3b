import { and, desc, eq, gt, lt, type SQL } from 'drizzle-orm';
import type { Db } from './client.ts';
import { prepared } from './prepared.ts';
import { type jobEvents, jobs, users } from './schema.ts';

export type JobRow = typeof jobs.$inferSelect & { requestedByName: string };

const withUser = (db: Db) =>
  db.select({ job: jobs, requestedByName: users.username }).from(jobs).innerJoin(users, eq(users.id, jobs.requestedBy));

/** The jobs row as drizzle would map it, from a raw row (snake_case columns). */
function fromRaw(r: Record<string, unknown>): JobRow {
  return {
    id: r.id as string,
    num: Number(r.num),
    kind: r.kind as string,
    target: r.target as string | null,
    script: r.script as string | null,
    params: r.params as Record<string, unknown>,
    status: r.status as string,
    progress: r.progress as number,
    step: r.step as string | null,
    attempt: r.attempt as number,
    maxAttempts: r.max_attempts as number,
    requestedBy: r.requested_by as string,
    idempotencyKey: r.idempotency_key as string | null,
    retryOf: r.retry_of as string | null,
    createdAt: r.created_at as Date,
    startedAt: r.started_at as Date | null,
    finishedAt: r.finished_at as Date | null,
    result: r.result,
    error: r.error as string | null,
    leaseOwner: r.lease_owner as string | null,
    leaseExpiresAt: r.lease_expires_at as Date | null,
    pid: r.pid as number | null,
    cancelRequestedAt: r.cancel_requested_at as Date | null,
    lastSeq: r.last_seq as number,
    pinned: r.pinned as boolean,
    outputPrunedAt: r.output_pruned_at as Date | null,
    requestedByName: r.requested_by_name as string,
  };
}

/** Every status poll reads one job, so this is a prepared statement. */
export async function getJob(db: Db, id: string): Promise<JobRow | null> {
  const [r] = await prepared(
    db,
    'deckhand_get_job',
    'SELECT j.*, u.username AS requested_by_name FROM jobs j JOIN users u ON u.id = j.requested_by WHERE j.id = $1',
    [id],
  );
  return r ? fromRaw(r) : null;
}

export interface JobFilter {
  status?: string;
  kind?: string;
  target?: string;
  /** Only jobs with `num` below this (the keyset cursor). */
  before?: number;
  /** Only jobs with `num` above this (what a page has not shown yet). */
  after?: number;
  limit: number;
}

/**
 * Newest first, keyset-paginated on the insertion number. The page's numbers come first from an
 * index-only scan (the jobs_*_num_idx indexes carry status, kind and target), and only those rows
 * are read: a second filter never visits the rows it skips, however long the history.
 */
export async function listJobs(db: Db, f: JobFilter): Promise<{ items: JobRow[]; nextBefore: number | null }> {
  const where: SQL[] = [];
  if (f.status) where.push(eq(jobs.status, f.status));
  if (f.kind) where.push(eq(jobs.kind, f.kind));
  if (f.target) where.push(eq(jobs.target, f.target));
  if (f.before !== undefined) where.push(lt(jobs.num, f.before));
  if (f.after !== undefined) where.push(gt(jobs.num, f.after));
  const page = db
    .select({ num: jobs.num })
    .from(jobs)
    .where(and(...where))
    .orderBy(desc(jobs.num))
    .limit(f.limit + 1)
    .as('page');
  const found = await withUser(db).innerJoin(page, eq(page.num, jobs.num)).orderBy(desc(jobs.num));
  const items = found.slice(0, f.limit).map((r) => ({ ...r.job, requestedByName: r.requestedByName }));
  const last = items.at(-1);
  return { items, nextBefore: found.length > f.limit && last ? last.num : null };
}

export type EventRow = typeof jobEvents.$inferSelect;

export async function listEvents(
  db: Db,
  jobId: string,
  after: number,
  limit: number,
  types?: readonly string[],
): Promise<EventRow[]> {
  // Prepared: every poll of a live job page that finds something new runs it.
  const rows = await prepared<EventRow & { job_id: string }>(
    db,
    'deckhand_list_events',
    `SELECT job_id, seq, at, type, data FROM job_events
     WHERE job_id = $1 AND seq > $2 AND ($3::text[] IS NULL OR type = ANY($3::text[]))
     ORDER BY seq LIMIT $4`,
    [jobId, after, types ? [...types] : null, limit],
  );
  return rows.map(({ job_id, seq, at, type, data }) => ({ jobId: job_id, seq, at, type, data }));
}
