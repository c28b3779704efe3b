import { asc } from 'drizzle-orm';
import { Hono } from 'hono';
import { targets } from '../../db/schema.ts';
import type { AppEnv } from '../context.ts';
import { jsonBody, notFound } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import { apiDoc } from '../openapi/describe.ts';
import {
  deleteTarget,
  describeTarget,
  describeTargets,
  findTargetRow,
  parseTargetBody,
  releaseTargetLock,
  saveTarget,
  targetBodyDocument,
} from '../target-service.ts';

const tag = 'targets';
const name = { name: { example: 'web', description: 'A target name' } };
const targetExample = {
  manager: 'systemd',
  unit: 'nginx.service',
  description: 'The public web server',
  healthUrl: 'http://127.0.0.1/healthz',
  configs: { kind: 'nginx', main: '/etc/nginx/nginx.conf', files: ['/etc/nginx/conf.d/*.conf'] },
  env: { APP_MODE: 'production' },
};

export const targetsApi = new Hono<AppEnv>()
  .get(
    '/',
    apiDoc({
      tag,
      summary: 'List targets with their status and lock holder',
      role: 'viewer',
      ok: { status: 200, description: '`{items:[Target]}`' },
    }),
    requireRole('viewer'),
    async (c) => {
      const rows = await c.var.deps.db.select().from(targets).orderBy(asc(targets.name));
      return c.json({ items: await describeTargets(c.var.deps, rows) });
    },
  )
  .get(
    '/:name',
    apiDoc({
      tag,
      summary: 'A target',
      description: 'Secrets by name only, never their values.',
      role: 'viewer',
      params: name,
      ok: { status: 200, description: 'The target' },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => {
      const row = await findTargetRow(c.var.deps.db, c.req.param('name'));
      if (!row) throw notFound('target');
      return c.json(await describeTarget(c.var.deps, row));
    },
  )
  .put(
    '/:name',
    apiDoc({
      tag,
      summary: 'Create or replace a target',
      description:
        '`env` replaces the secrets when given (`{}` clears them); without it they are kept. Every path must be under DECKHAND_MANAGED_PATHS.',
      role: 'admin',
      params: name,
      body: {
        schema: { document: async () => targetBodyDocument(), parse: parseTargetBody },
        examples: { systemd: targetExample },
      },
      ok: { status: 200, also: 201, description: 'The target (201 when created)' },
    }),
    requireRole('admin'),
    async (c) => {
      const body = await jsonBody(c.req);
      const { row, created } = await saveTarget(c.var.deps, c.var.user!, c.req.param('name'), body);
      return c.json(await describeTarget(c.var.deps, row), created ? 201 : 200);
    },
  )
  .delete(
    '/:name',
    apiDoc({
      tag,
      summary: 'Delete a target',
      role: 'admin',
      params: name,
      ok: { status: 204, description: 'Deleted' },
      errors: [404, 409],
    }),
    requireRole('admin'),
    async (c) => {
      await deleteTarget(c.var.deps, c.var.user!, c.req.param('name'));
      return c.body(null, 204);
    },
  )
  .delete(
    '/:name/lock',
    apiDoc({
      tag,
      summary: "Force-release a target's lock (audited)",
      role: 'admin',
      params: name,
      ok: { status: 200, description: '`{target, released}`' },
      errors: [404],
    }),
    requireRole('admin'),
    async (c) => {
      const name = c.req.param('name');
      const released = await releaseTargetLock(c.var.deps, c.var.user!, name);
      return c.json({ target: name, released });
    },
  );
