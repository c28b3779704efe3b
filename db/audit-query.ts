import { and, desc, eq, gte, lt, type SQL } from 'drizzle-orm';
import type { Db } from './client.ts';
import { auditLog } from './schema.ts';

export type AuditRow = typeof auditLog.$inferSelect;

/** Which audit rows to show: every field is optional and they combine with AND. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  subject?: string;
  since?: Date;
  until?: Date;
}

function conditions(f: AuditFilter, beforeId: number | null): SQL | undefined {
  return and(
    f.actor !== undefined ? eq(auditLog.actor, f.actor) : undefined,
    f.action !== undefined ? eq(auditLog.action, f.action) : undefined,
    f.subject !== undefined ? eq(auditLog.subject, f.subject) : undefined,
    f.since !== undefined ? gte(auditLog.at, f.since) : undefined,
    f.until !== undefined ? lt(auditLog.at, f.until) : undefined,
    beforeId !== null ? lt(auditLog.id, beforeId) : undefined,
  );
}

/**
 * One page of audit rows, newest first, keyed on the id (keyset: a row written while someone pages
 * never shifts the pages). `older` is the id to continue below, or null on the last page.
 */
export async function listAudit(
  db: Db,
  f: AuditFilter,
  beforeId: number | null,
  limit: number,
): Promise<{ rows: AuditRow[]; older: number | null }> {
  const rows = await db
    .select()
    .from(auditLog)
    .where(conditions(f, beforeId))
    .orderBy(desc(auditLog.id))
    .limit(limit + 1);
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { rows: page, older: more ? (page.at(-1)?.id ?? null) : null };
}
