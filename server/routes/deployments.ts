import { Hono } from 'hono';
import { z } from 'zod';
import { RELEASE_NAME } from '../../jobs/lib/release-name.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { deploymentHistory, rollbackChoices } from '../deployment-service.ts';
import { badRequest, jsonBody, notFound, parseOr400 } from '../errors.ts';
import { resolveRequest, submitJob } from '../job-service.ts';
import { requireRole } from '../middleware.ts';
import { apiDoc } from '../openapi/describe.ts';
import { findTargetRow } from '../target-service.ts';

const rollbackBody = z.object({
  /** Default: the newest earlier release that was live. */
  release: z.string().regex(RELEASE_NAME).optional(),
  acknowledgeMigrations: z.boolean().default(false),
});

const tag = 'deployments';
const name = { name: { example: 'web', description: 'A target name' } };

async function existingTarget(c: { var: AppEnv['Variables'] }, name: string) {
  if (!(await findTargetRow(c.var.deps.db, name))) throw notFound('target');
  return name;
}

const choicesFor = async (deps: AppDeps, name: string) =>
  rollbackChoices(deps, name, await deploymentHistory(deps, name));

/** A target's deploy history and releases, and one-call rollback (mounted under /api/targets). */
export const deploymentsApi = new Hono<AppEnv>()
  .get(
    '/:name/deployments',
    apiDoc({
      tag,
      summary: "A target's deploy history",
      role: 'viewer',
      params: name,
      ok: { status: 200, description: '`{items:[Deployment]}`' },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => {
      const name = await existingTarget(c, c.req.param('name'));
      return c.json({ items: await deploymentHistory(c.var.deps, name) });
    },
  )
  .get(
    '/:name/releases',
    apiDoc({
      tag,
      summary: "A target's releases a rollback may choose",
      role: 'viewer',
      params: name,
      ok: { status: 200, description: '`{items:[Release]}`' },
      errors: [404],
    }),
    requireRole('viewer'),
    async (c) => {
      const name = await existingTarget(c, c.req.param('name'));
      return c.json({ items: await choicesFor(c.var.deps, name) });
    },
  )
  .post(
    '/:name/rollback',
    apiDoc({
      tag,
      summary: 'Roll back to an earlier release (a deploy job)',
      description: 'Without `release`: the newest earlier release that was live.',
      role: 'operator',
      params: name,
      body: {
        schema: rollbackBody,
        examples: { previous: {}, chosen: { release: '20261123021500-1a2b3c4', acknowledgeMigrations: true } },
      },
      ok: { status: 202, description: '`{id, status, url, release}`' },
      errors: [404, 409],
    }),
    requireRole('operator'),
    async (c) => {
      const name = await existingTarget(c, c.req.param('name'));
      const body = parseOr400(rollbackBody, await jsonBody(c.req), 'rollback request');
      const release = body.release ?? (await choicesFor(c.var.deps, name)).find((r) => !r.current)?.release;
      if (!release) throw badRequest(`${name} has no earlier release to roll back to`);
      const stored = await resolveRequest(c.var.deps, { kind: 'deploy', target: name, ...body, release });
      const { id } = await submitJob(c.var.deps, c.var.user!, stored);
      if (c.req.header('HX-Request')) c.header('HX-Redirect', `/jobs/${id}`);
      return c.json({ id, status: 'queued', url: `/api/jobs/${id}`, release }, 202);
    },
  );
