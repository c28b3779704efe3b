import type { z } from 'zod';
import { auditLogRead } from '../db/log-audit.ts';
import type { LogFollow, LogPage } from '../jobs/lib/log-query.ts';
import { logFollowQuery, logPageQuery } from '../jobs/lib/log-query.ts';
import type { SessionUser } from './auth/sessions.ts';
import type { AppDeps } from './context.ts';
import { badRequest, notFound, parseOr400 } from './errors.ts';
import { findTargetRow } from './target-service.ts';

/** Single values only: `?grep=a&grep=b` is a 400 naming the field, never a silent pick. */
export function singleQuery(url: string): Record<string, string> {
  const out: Record<string, string> = {};
  const twice: string[] = [];
  for (const [k, v] of new URL(url).searchParams) {
    if (k in out) twice.push(k);
    out[k] = v;
  }
  if (twice.length > 0)
    throw badRequest('a query field is given more than once', {
      fieldErrors: Object.fromEntries(twice.map((k) => [k, ['given more than once']])),
    });
  // An empty field is no filter (an HTML form sends every field).
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== ''));
}

async function hostOf(deps: AppDeps, target: string): Promise<string> {
  const row = await findTargetRow(deps.db, target);
  if (!row) throw notFound('target');
  return row.host ?? deps.config.DECKHAND_HOST_NAME;
}

const actor = (u: SessionUser) => ({ id: u.id, name: u.username });
const filterOf = (q: Record<string, unknown>) =>
  Object.fromEntries(
    ['grep', 'regex', 'level', 'since', 'until'].filter((k) => q[k] !== undefined).map((k) => [k, String(q[k])]),
  );

export type PageQuery = z.infer<typeof logPageQuery>;

/** A page of a target's log, newest first, read by a worker of the target's host and audited (DESIGN §10). */
export async function readLogPage(
  deps: AppDeps,
  user: SessionUser,
  target: string,
  query: Record<string, string>,
): Promise<LogPage & { followCursor?: string | null; query: PageQuery }> {
  const q = parseOr400(logPageQuery, query, 'log query');
  const host = await hostOf(deps, target);
  const page = (await deps.host.read(host, 'log-page', { ...q, target })) as LogPage & { followCursor?: string | null };
  await auditLogRead(deps.db, actor(user), target, { source: q.source, filter: filterOf(q) });
  return { ...page, query: q };
}

export async function readLogFollow(
  deps: AppDeps,
  user: SessionUser,
  target: string,
  query: Record<string, string>,
): Promise<LogFollow> {
  const q = parseOr400(logFollowQuery, query, 'follow query');
  const host = await hostOf(deps, target);
  const reply = (await deps.host.read(host, 'log-follow', { ...q, target })) as LogFollow;
  await auditLogRead(deps.db, actor(user), target, { source: q.source, filter: filterOf(q), follow: true });
  return reply;
}

/** Lines a download holds at most: the filtered range, newest DOWNLOAD_MAX_LINES of it. */
export const DOWNLOAD_MAX_LINES = 50_000;
const DOWNLOAD_PAGES = 40;

/** The filtered range, oldest line first, bounded in lines and in pages read. */
export async function downloadLog(deps: AppDeps, user: SessionUser, target: string, query: Record<string, string>) {
  const lines: string[] = [];
  let before = query.before;
  let truncated = false;
  for (let i = 0; i < DOWNLOAD_PAGES; i++) {
    const limit = String(Math.min(5000, DOWNLOAD_MAX_LINES - lines.length));
    const page = await readLogPage(deps, user, target, { ...query, limit, ...(before ? { before } : {}) });
    for (const l of page.lines) lines.push(l.text);
    before = page.nextCursor ?? undefined;
    if (!before) break;
    if (lines.length >= DOWNLOAD_MAX_LINES || i === DOWNLOAD_PAGES - 1) {
      truncated = true;
      break;
    }
  }
  lines.reverse();
  if (truncated) lines.unshift(`[deckhand: older lines left out; this download holds the newest ${lines.length}]`);
  return `${lines.join('\n')}\n`;
}
