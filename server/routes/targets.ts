import { asc, eq, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { audit } from '../../db/audit.ts';
import { forceReleaseTarget, lockHolder } from '../../db/locks.ts';
import { targets } from '../../db/schema.ts';
import { assertManagedPaths, targetName, targetSpec } from '../../jobs/lib/targets.ts';
import type { AppEnv } from '../context.ts';
import { badRequest, conflict, notFound, parseOr400 } from '../errors.ts';
import { requireRole } from '../middleware.ts';

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'an environment variable name');
const putBody = z.looseObject({ env: z.record(envName, z.string().max(8192)).optional() });

type Row = typeof targets.$inferSelect;

/** A target as the API shows it: secrets by name only, never their values. */
async function describe(db: AppEnv['Variables']['deps']['db'], row: Row, envNames: string[]) {
  const last = await db.execute(
    sql`SELECT id, kind, status, finished_at FROM jobs WHERE target = ${row.name} ORDER BY num DESC LIMIT 1`,
  );
  return {
    name: row.name,
    ...row.spec,
    env: Object.fromEntries(envNames.map((k) => [k, '[secret]'])),
    lock: await lockHolder(db, row.name),
    lastJob: last.rows[0] ?? null,
    updatedAt: row.updatedAt.toISOString(),
  };
}

export const targetsApi = new Hono<AppEnv>()
  .get('/', requireRole('viewer'), async (c) => {
    const { db, env } = c.var.deps;
    const rows = await db.select().from(targets).orderBy(asc(targets.name));
    const items = await Promise.all(rows.map((r) => describe(db, r, envNames(env.secrets, r.secretEnv))));
    return c.json({ items });
  })
  .get('/:name', requireRole('viewer'), async (c) => {
    const { db, env } = c.var.deps;
    const [row] = await db
      .select()
      .from(targets)
      .where(eq(targets.name, c.req.param('name')));
    if (!row) throw notFound('target');
    return c.json(await describe(db, row, envNames(env.secrets, row.secretEnv)));
  })
  .put('/:name', requireRole('admin'), async (c) => {
    const { db, env } = c.var.deps;
    const name = parseOr400(targetName, c.req.param('name'), 'target name');
    const body = parseOr400(putBody, await c.req.json().catch(() => badJson()), 'target');
    const { env: secrets, ...rest } = body;
    const spec = parseOr400(targetSpec, rest, 'target');
    assertManagedPaths(spec, env.managedPaths);
    const secretEnv = secrets && Object.keys(secrets).length > 0 ? env.secrets.seal(JSON.stringify(secrets)) : null;
    const [before] = await db.select({ name: targets.name }).from(targets).where(eq(targets.name, name));
    await db.transaction(async (tx) => {
      await tx
        .insert(targets)
        .values({ name, spec, secretEnv })
        .onConflictDoUpdate({ target: targets.name, set: { spec, secretEnv, updatedAt: new Date() } });
      const user = c.var.user!;
      await audit(tx, { id: user.id, name: user.username }, before ? 'target.update' : 'target.create', name, {
        spec,
        env: Object.keys(secrets ?? {}),
      });
    });
    const [row] = await db.select().from(targets).where(eq(targets.name, name));
    return c.json(await describe(db, row!, Object.keys(secrets ?? {})), before ? 200 : 201);
  })
  .delete('/:name', requireRole('admin'), async (c) => {
    const { db } = c.var.deps;
    const name = c.req.param('name');
    const holder = await lockHolder(db, name);
    if (holder?.status === 'active') throw conflict(`job ${holder.jobId} is running on ${name}`, holder);
    const gone = await db.delete(targets).where(eq(targets.name, name)).returning({ name: targets.name });
    if (gone.length === 0) throw notFound('target');
    const user = c.var.user!;
    await audit(db, { id: user.id, name: user.username }, 'target.delete', name);
    return c.body(null, 204);
  })
  .delete('/:name/lock', requireRole('admin'), async (c) => {
    const { db } = c.var.deps;
    const name = c.req.param('name');
    const released = await forceReleaseTarget(db, name);
    if (!released) throw notFound('lock');
    const user = c.var.user!;
    await audit(db, { id: user.id, name: user.username }, 'target.lock.force_release', name, { heldBy: released });
    return c.json({ target: name, released });
  });

function envNames(box: AppEnv['Variables']['deps']['env']['secrets'], sealed: Uint8Array | null): string[] {
  return sealed ? Object.keys(JSON.parse(box.open(sealed)) as Record<string, string>) : [];
}

function badJson(): never {
  throw badRequest('the body is not valid JSON');
}
