import { Hono } from 'hono';
import { logFollowQuery, logPageQuery } from '../../jobs/lib/log-query.ts';
import type { AppEnv } from '../context.ts';
import { downloadLog, readLogFollow, readLogPage, singleQuery } from '../log-service.ts';
import { requireRole } from '../middleware.ts';
import { apiDoc } from '../openapi/describe.ts';

const tag = 'logs';
const name = { name: { example: 'web', description: 'A target with a logs section' } };

/** `GET /api/targets/:name/logs[/follow|/download]` (DESIGN §10): viewer role, reads go to the host's worker. */
export const logsApi = new Hono<AppEnv>()
  .get(
    '/:name/logs',
    apiDoc({
      tag,
      summary: "A page of a target's log, newest first",
      role: 'viewer',
      params: name,
      query: logPageQuery,
      ok: { status: 200, description: '`{source, lines:[{at, text}], nextCursor}`' },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => {
      const { query: _q, ...page } = await readLogPage(
        c.var.deps,
        c.var.user!,
        c.req.param('name'),
        singleQuery(c.req.url),
      );
      return c.json(page);
    },
  )
  .get(
    '/:name/logs/follow',
    apiDoc({
      tag,
      summary: 'The lines since a cursor, oldest first',
      role: 'viewer',
      params: name,
      query: logFollowQuery,
      ok: { status: 200, description: '`{source, lines, cursor}`' },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => {
      return c.json(await readLogFollow(c.var.deps, c.var.user!, c.req.param('name'), singleQuery(c.req.url)));
    },
  )
  .get(
    '/:name/logs/download',
    apiDoc({
      tag,
      summary: 'The filtered range as a text file',
      role: 'viewer',
      params: name,
      query: logPageQuery,
      ok: { status: 200, description: 'The lines', media: 'text/plain' },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => {
      const name = c.req.param('name');
      const query = singleQuery(c.req.url);
      const text = await downloadLog(c.var.deps, c.var.user!, name, query);
      const file = `${name}-${query.source ?? 'log'}.log`.replace(/[^A-Za-z0-9._-]/g, '_');
      return c.body(text, 200, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Disposition': `attachment; filename="${file}"`,
      });
    },
  );
