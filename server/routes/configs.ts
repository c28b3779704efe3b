import { Hono } from 'hono';
import { z } from 'zod';
import { adoptConfig, configHistory, configTarget, listConfigs, previewDiff, readConfig } from '../config-service.ts';
import type { AppEnv } from '../context.ts';
import { jsonBody, parseOr400 } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import { apiDoc } from '../openapi/describe.ts';

const pathQuery = z.strictObject({ path: z.string().min(1).max(4096) });
const comment = z.string().trim().min(1, 'say why (required)').max(500);
const adoptBody = z.strictObject({ path: z.string().min(1).max(4096), comment });
const previewBody = z.strictObject({ path: z.string().min(1).max(4096), text: z.string().max(1024 * 1024) });

const tag = 'configs';
const name = { name: { example: 'web', description: 'A target with a configs section' } };

/**
 * `/api/targets/:name/configs…` (DESIGN §10). Reading is for viewers; adopting a file on disk
 * as a version is admin-only, like every change (a `config` job).
 */
export const configsApi = new Hono<AppEnv>()
  .get(
    '/:name/configs',
    apiDoc({
      tag,
      summary: "A target's config files",
      role: 'viewer',
      params: name,
      ok: { status: 200, description: '`{items:[{path, enabled, drift, version}]}`' },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => {
      const t = await configTarget(c.var.deps, c.req.param('name'));
      return c.json({ items: await listConfigs(c.var.deps, t) });
    },
  )
  .get(
    '/:name/configs/file',
    apiDoc({
      tag,
      summary: "A config file's text",
      role: 'viewer',
      params: name,
      query: pathQuery,
      ok: { status: 200, description: '`{path, text, version, drift}`' },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => {
      const q = parseOr400(pathQuery, c.req.query(), 'query');
      const t = await configTarget(c.var.deps, c.req.param('name'));
      return c.json(await readConfig(c.var.deps, t, q.path));
    },
  )
  .get(
    '/:name/configs/history',
    apiDoc({
      tag,
      summary: "A config file's versions",
      role: 'viewer',
      params: name,
      query: pathQuery,
      ok: { status: 200, description: '`{items:[Version]}`' },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => {
      const q = parseOr400(pathQuery, c.req.query(), 'query');
      const t = await configTarget(c.var.deps, c.req.param('name'));
      return c.json({ items: await configHistory(c.var.deps, t, q.path) });
    },
  )
  .post(
    '/:name/configs/preview',
    apiDoc({
      tag,
      summary: 'The diff a change would make',
      role: 'viewer',
      params: name,
      body: {
        schema: previewBody,
        examples: { edit: { path: '/etc/nginx/conf.d/site.conf', text: 'server { listen 80; }\n' } },
      },
      ok: { status: 200, description: '`{path, diff}`' },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => {
      const body = parseOr400(previewBody, await jsonBody(c.req), 'preview');
      const t = await configTarget(c.var.deps, c.req.param('name'));
      return c.json({ path: body.path, diff: await previewDiff(c.var.deps, t, body.path, body.text) });
    },
  )
  .post(
    '/:name/configs/adopt',
    apiDoc({
      tag,
      summary: 'Record the file on disk as a new version',
      role: 'admin',
      params: name,
      body: {
        schema: adoptBody,
        examples: { adopt: { path: '/etc/nginx/conf.d/site.conf', comment: 'edited by hand during the outage' } },
      },
      ok: { status: 201, description: 'The version' },
      errors: [404],
    }),
    requireRole('admin'),
    async (c) => {
      const body = parseOr400(adoptBody, await jsonBody(c.req), 'adopt');
      const t = await configTarget(c.var.deps, c.req.param('name'));
      return c.json(await adoptConfig(c.var.deps, c.var.user!, t, body.path, body.comment), 201);
    },
  );
