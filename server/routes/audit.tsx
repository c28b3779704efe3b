import { Hono } from 'hono';
import { type AuditRow, listAudit } from '../../db/audit-query.ts';
import { AuditPage, type AuditView } from '../../views/audit.tsx';
import { auditSentence } from '../../views/audit-sentence.ts';
import { auditQuery, auditQueryString, parseAuditQuery } from '../audit-filter.ts';
import type { AppEnv } from '../context.ts';
import { pageOf } from '../context.ts';
import { csvLine } from '../csv.ts';
import { HttpError } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import { apiDoc } from '../openapi/describe.ts';
import { encodeCursor, redactParams } from '../serialize.ts';

/** The CSV export stops here; narrow the range for more. */
const CSV_MAX_ROWS = 50_000;
const CSV_PAGE = 1000;

/** Details as shown anywhere: secret-looking keys masked at every depth (callers should never write any). */
function redactDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redactDeep);
  if (v && typeof v === 'object') {
    const masked = redactParams(v as Record<string, unknown>);
    return Object.fromEntries(Object.entries(masked).map(([k, x]) => [k, x === '[redacted]' ? x : redactDeep(x)]));
  }
  return v;
}

function toView(r: AuditRow): AuditView {
  const details = redactDeep(r.details ?? {}) as Record<string, unknown>;
  return {
    id: r.id,
    at: r.at.toISOString(),
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    sentence: auditSentence({ actor: r.actor, action: r.action, subject: r.subject, details }),
    details,
  };
}

/** The audit log: page, JSON and CSV of one filtered range, admin-only (DESIGN §7). */
export const auditRoutes = new Hono<AppEnv>()
  .get('/audit', requireRole('admin'), async (c) => {
    const raw = c.req.query();
    const page = (
      p: Omit<Parameters<typeof AuditPage>[0], 'user' | 'csrfToken' | 'pagePath'>,
      status: 200 | 400 = 200,
    ) => c.html(<AuditPage {...pageOf(c)} {...p} />, status);
    let q: ReturnType<typeof parseAuditQuery>;
    try {
      q = parseAuditQuery(raw);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      return page({ rows: [], raw, error: err, olderHref: null, csvHref: '/audit.csv' }, 400);
    }
    const { rows, older } = await listAudit(c.var.deps.db, q.filter, q.beforeId, q.limit);
    return page({
      rows: rows.map(toView),
      raw,
      error: null,
      olderHref: older ? `/audit${auditQueryString(q.filter, older)}` : null,
      csvHref: `/audit.csv${auditQueryString(q.filter)}`,
    });
  })
  .get(
    '/api/audit',
    apiDoc({
      tag: 'audit',
      summary: 'The audit log, newest first',
      role: 'admin',
      query: auditQuery,
      ok: { status: 200, description: '`{entries:[Entry], nextCursor}`' },
    }),
    requireRole('admin'),
    async (c) => {
      const q = parseAuditQuery(c.req.query());
      const { rows, older } = await listAudit(c.var.deps.db, q.filter, q.beforeId, q.limit);
      return c.json({ entries: rows.map(toView), nextCursor: older ? encodeCursor(older) : null });
    },
  )
  .get('/audit.csv', requireRole('admin'), async (c) => {
    const q = parseAuditQuery(c.req.query());
    let out = csvLine(['at', 'actor', 'action', 'subject', 'sentence', 'details']);
    let before = q.beforeId;
    for (let n = 0; n < CSV_MAX_ROWS; n += CSV_PAGE) {
      const { rows, older } = await listAudit(c.var.deps.db, q.filter, before, CSV_PAGE);
      for (const v of rows.map(toView)) {
        out += csvLine([v.at, v.actor, v.action, v.subject ?? '', v.sentence, JSON.stringify(v.details)]);
      }
      if (older === null) break;
      before = older;
    }
    return c.body(out, 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': 'attachment; filename="deckhand-audit.csv"',
    });
  });
