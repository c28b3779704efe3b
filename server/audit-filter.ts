import { z } from 'zod';
import type { AuditFilter } from '../db/audit-query.ts';
import { badRequest, parseOr400 } from './errors.ts';
import { decodeCursor, encodeCursor } from './serialize.ts';

// A date, or a date and time (a browser's datetime-local sends no seconds and no offset: UTC then).
const TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?$/;
const instant = z
  .string()
  .regex(TIME, 'expected an ISO date or date-time, e.g. 2026-11-24T08:00Z')
  .transform((s, ctx) => {
    const d = new Date(/T.*(Z|[+-]\d{2}:\d{2})$/.test(s) || !s.includes('T') ? s : `${s}Z`);
    if (Number.isNaN(d.getTime())) ctx.addIssue({ code: 'custom', message: 'not a real date' });
    return d;
  });

export const auditQuery = z.strictObject({
  actor: z.string().max(200).optional(),
  action: z
    .string()
    .regex(/^[a-z_]+(\.[a-z_]+)*$/, 'an action looks like job.enqueue')
    .max(100)
    .optional(),
  subject: z.string().max(500).optional(),
  since: instant.optional(),
  until: instant.optional(),
  cursor: z.string().max(40).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export interface AuditQuery {
  filter: AuditFilter;
  beforeId: number | null;
  limit: number;
}

/** The audit filters of a query string; empty fields (a submitted form) count as absent; bad ones are a 400 naming them. */
export function parseAuditQuery(raw: Record<string, string>): AuditQuery {
  const given = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== ''));
  const q = parseOr400(auditQuery, given, 'audit filter');
  if (q.since && q.until && q.since >= q.until) {
    throw badRequest('invalid audit filter', { fieldErrors: { until: ['until must be after since'] }, formErrors: [] });
  }
  const beforeId = q.cursor === undefined ? null : decodeCursor(q.cursor);
  if (q.cursor !== undefined && beforeId === null) {
    throw badRequest('invalid audit filter', {
      fieldErrors: { cursor: ['not a cursor from this API'] },
      formErrors: [],
    });
  }
  const { cursor: _c, limit, ...filter } = q;
  return { filter, beforeId, limit };
}

/** The query string of a filter (for the Older link and the CSV export), without empty fields. */
export function auditQueryString(f: AuditFilter, beforeId?: number | null): string {
  const p = new URLSearchParams();
  for (const k of ['actor', 'action', 'subject'] as const) if (f[k] !== undefined) p.set(k, f[k]);
  if (f.since) p.set('since', f.since.toISOString());
  if (f.until) p.set('until', f.until.toISOString());
  if (beforeId) p.set('cursor', encodeCursor(beforeId));
  const s = p.toString();
  return s ? `?${s}` : '';
}
