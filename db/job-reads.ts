import { and, asc, desc, eq, gt, lt, type SQL } from 'drizzle-orm';
import type { Db } from './client.ts';
import { jobEvents, jobs, users } from './schema.ts';

export type JobRow = typeof jobs.$inferSelect & { requestedByName: string };

const withUser = (db: Db) =>
  db.select({ job: jobs, requestedByName: users.username }).from(jobs).innerJoin(users, eq(users.id, jobs.requestedBy));

export async function getJob(db: Db, id: string): Promise<JobRow | null> {
  const [r] = await withUser(db).where(eq(jobs.id, id));
  return r ? { ...r.job, requestedByName: r.requestedByName } : null;
}

export interface JobFilter {
  status?: string;
  kind?: string;
  target?: string;
  /** Only jobs with `num` below this (the keyset cursor). */
  before?: number;
  limit: number;
}

/** Newest first, keyset-paginated on the insertion number. */
export async function listJobs(db: Db, f: JobFilter): Promise<{ items: JobRow[]; nextBefore: number | null }> {
  const where: SQL[] = [];
  if (f.status) where.push(eq(jobs.status, f.status));
  if (f.kind) where.push(eq(jobs.kind, f.kind));
  if (f.target) where.push(eq(jobs.target, f.target));
  if (f.before !== undefined) where.push(lt(jobs.num, f.before));
  const found = await withUser(db)
    .where(and(...where))
    .orderBy(desc(jobs.num))
    .limit(f.limit + 1);
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
  type?: string,
): Promise<EventRow[]> {
  const where = [eq(jobEvents.jobId, jobId), gt(jobEvents.seq, after)];
  if (type) where.push(eq(jobEvents.type, type));
  return db
    .select()
    .from(jobEvents)
    .where(and(...where))
    .orderBy(asc(jobEvents.seq))
    .limit(limit);
}
