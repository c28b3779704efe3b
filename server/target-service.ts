import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { audit } from '../db/audit.ts';
import type { Db } from '../db/client.ts';
import { lockHolder } from '../db/locks.ts';
import { targets } from '../db/schema.ts';
import type { SecretBox } from '../jobs/lib/secret-box.ts';
import {
  assertDeployConsistent,
  assertManagedPaths,
  type TargetSpec,
  targetName,
  targetSpec,
} from '../jobs/lib/targets.ts';
import { assertEnvWritable } from '../worker/deploy-service.ts';
import { UnwritableEnvError } from '../worker/service-env.ts';
import type { SessionUser } from './auth/sessions.ts';
import type { AppDeps } from './context.ts';
import { badRequest, parseOr400 } from './errors.ts';

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'an environment variable name');
// One line each: values go into systemd Environment= and supervisor environment= lines.
const envValue = z
  .string()
  .max(8192)
  .regex(/^[^\n\r\0]*$/, 'one line, no NUL');
const targetBody = z.looseObject({ env: z.record(envName, envValue).optional() });

export type TargetRow = typeof targets.$inferSelect;

export function envNames(box: SecretBox, sealed: Uint8Array | null): string[] {
  return sealed ? Object.keys(JSON.parse(box.open(sealed)) as Record<string, string>) : [];
}

/** A target as people see it: secrets by name only, never their values. */
export async function describeTarget(deps: AppDeps, row: TargetRow) {
  const last = await deps.db.execute(
    sql`SELECT id, kind, status, finished_at FROM jobs WHERE target = ${row.name} ORDER BY num DESC LIMIT 1`,
  );
  return {
    name: row.name,
    ...(row.spec as TargetSpec),
    env: Object.fromEntries(envNames(deps.env.secrets, row.secretEnv).map((k) => [k, '[secret]'])),
    lock: await lockHolder(deps.db, row.name),
    lastJob: (last.rows[0] as { id: string; kind: string; status: string } | undefined) ?? null,
    updatedAt: row.updatedAt.toISOString(),
  };
}

export async function findTargetRow(db: Db, name: string): Promise<TargetRow | null> {
  const [row] = await db.select().from(targets).where(eq(targets.name, name));
  return row ?? null;
}

/**
 * Validates and stores a target (create or replace), audited without secret values.
 * `env` replaces the secrets when given (`{}` clears them); without it they are kept,
 * so editing a target's settings never loses its secrets.
 */
export async function saveTarget(deps: AppDeps, user: SessionUser, rawName: string, body: unknown) {
  const name = parseOr400(targetName, rawName, 'target name');
  const { env: given, ...rest } = parseOr400(targetBody, body, 'target');
  const spec = parseOr400(targetSpec, rest, 'target');
  assertManagedPaths(spec, deps.env.managedPaths);
  assertDeployConsistent(spec);
  const existing = await findTargetRow(deps.db, name);
  const kept = existing?.secretEnv ?? null;
  const secrets = given ?? (kept ? (JSON.parse(deps.env.secrets.open(kept)) as Record<string, string>) : {});
  try {
    assertEnvWritable({ name, spec, secretEnv: null }, secrets);
  } catch (err) {
    if (err instanceof UnwritableEnvError) throw badRequest(err.message, { fieldErrors: { env: [err.message] } });
    throw err;
  }
  const sealed = Object.keys(secrets).length > 0 ? deps.env.secrets.seal(JSON.stringify(secrets)) : null;
  const secretEnv = given === undefined ? kept : sealed;
  await deps.db.transaction(async (tx) => {
    await tx
      .insert(targets)
      .values({ name, spec, secretEnv })
      .onConflictDoUpdate({ target: targets.name, set: { spec, secretEnv, updatedAt: new Date() } });
    await audit(tx, { id: user.id, name: user.username }, existing ? 'target.update' : 'target.create', name, {
      spec,
      env: Object.keys(secrets),
      ...(given === undefined ? {} : { envReplaced: true }),
    });
  });
  return { row: (await findTargetRow(deps.db, name))!, created: !existing };
}
