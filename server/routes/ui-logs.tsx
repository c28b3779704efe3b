import { Hono } from 'hono';
import { compileMatcher, matchPieces } from '../../jobs/lib/log-match.ts';
import type { LogLine } from '../../jobs/lib/log-query.ts';
import { type TargetSpec, targetSpec } from '../../jobs/lib/targets.ts';
import {
  FollowFragment,
  type LogFilterView,
  type LogLineView,
  LogsPage,
  type LogsPageView,
  OlderFragment,
} from '../../views/logs.tsx';
import type { AppEnv } from '../context.ts';
import { pageOf } from '../context.ts';
import { HttpError, notFound } from '../errors.ts';
import { readLogFollow, readLogPage, singleQuery } from '../log-service.ts';
import { requireRole } from '../middleware.ts';
import { findTargetRow } from '../target-service.ts';

/** Lines with their matches cut out for <mark>; the same matcher the worker filtered with. */
function toViews(lines: LogLine[], grep: string | undefined, regex: boolean): LogLineView[] {
  let re: RegExp | null = null;
  try {
    re = grep ? compileMatcher(grep, regex) : null;
  } catch {}
  return lines.map((l) => ({
    at: l.at,
    level: l.level,
    pieces: re ? matchPieces(re, l.text) : [{ text: l.text, match: false }],
  }));
}

function filterView(q: Record<string, string>, source: string): LogFilterView {
  return {
    source,
    grep: q.grep ?? '',
    regex: q.regex === '1',
    level: q.level ?? '',
    since: q.since ?? '',
    until: q.until ?? '',
    limit: Number(q.limit) || 200,
  };
}

async function sourcesOf(db: Parameters<typeof findTargetRow>[0], name: string): Promise<string[]> {
  const row = await findTargetRow(db, name);
  if (!row) throw notFound('target');
  const spec = targetSpec.safeParse(row.spec);
  return spec.success ? (spec.data as TargetSpec).logs.map((s) => s.name) : [];
}

/** The Logs page of a target (DESIGN §10), its Older and Follow fragments; all reads through the API's service. */
export const logPages = new Hono<AppEnv>()
  .get('/targets/:name/logs', requireRole('viewer'), async (c) => {
    const name = c.req.param('name');
    const sources = await sourcesOf(c.var.deps.db, name);
    const q = singleQuery(c.req.url);
    const source = q.source ?? sources[0] ?? '';
    const view: LogsPageView = {
      target: name,
      sources,
      filter: filterView(q, source),
      lines: [],
      nextCursor: null,
      followCursor: null,
      error: null,
    };
    if (source) {
      try {
        const page = await readLogPage(c.var.deps, c.var.user!, name, { ...q, source });
        view.lines = toViews(page.lines, page.query.grep, page.query.regex === '1');
        view.nextCursor = page.nextCursor;
        view.followCursor = page.followCursor ?? null;
      } catch (err) {
        if (!(err instanceof HttpError) || err.status === 401 || err.status === 403) throw err;
        view.error = err.message;
      }
    }
    return c.html(<LogsPage {...pageOf(c)} view={view} />);
  })
  .get('/fragments/targets/:name/logs/older', requireRole('viewer'), async (c) => {
    const name = c.req.param('name');
    const q = singleQuery(c.req.url);
    const page = await readLogPage(c.var.deps, c.var.user!, name, q);
    const lines = toViews(page.lines, page.query.grep, page.query.regex === '1');
    return c.html(
      <OlderFragment target={name} filter={filterView(q, page.source)} lines={lines} nextCursor={page.nextCursor} />,
    );
  })
  .get('/fragments/targets/:name/logs/follow', requireRole('viewer'), async (c) => {
    const name = c.req.param('name');
    const { toggle, ...q } = singleQuery(c.req.url);
    const on = toggle === undefined ? true : toggle === 'on';
    const filter = filterView(q, q.source ?? '');
    if (!on)
      return c.html(<FollowFragment target={name} filter={filter} cursor={q.after ?? null} on={false} lines={[]} />);
    const reply = await readLogFollow(c.var.deps, c.var.user!, name, q);
    const lines = toViews(reply.lines, q.grep, q.regex === '1');
    return c.html(<FollowFragment target={name} filter={filter} cursor={reply.cursor} on lines={lines} />);
  });
