import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { audit } from '../db/audit.ts';
import type { Db } from '../db/client.ts';
import { forceReleaseTarget, lockHolder } from '../db/locks.ts';
import { targets } from '../db/schema.ts';
import { assertLogSources } from '../jobs/lib/log-query.ts';
import { publicSpec, sealableRepoUrl } from '../jobs/lib/repo-credential.ts';
import { openEnv, openTargetSecrets, sealTargetSecrets } from '../jobs/lib/secret-box.ts';
import { assertEnvWritable, UnwritableEnvError } from '../jobs/lib/service-env.ts';
import {
  assertDeployConsistent,
  assertManagedPaths,
  assertSafeEndpoints,
  type TargetSpec,
  targetName,
  targetSpec,
} from '../jobs/lib/targets.ts';
import type { SessionUser } from './auth/sessions.ts';
import type { AppDeps } from './context.ts';
import { badRequest, conflict, notFound, parseOr400 } from './errors.ts';
import { inputJsonSchema, withProperties } from './openapi/json-schema.ts';

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'an environment variable name');
// One line each: values go into systemd Environment= and supervisor environment= lines.
const envValue = z
  .string()
  .max(8192)
  .regex(/^[^\n\r\0]*$/, 'one line, no NUL');
const targetBody = z.looseObject({ env: z.record(envName, envValue).optional() });

export type TargetRow = typeof targets.$inferSelect;

/**
 * Targets as people see them: secrets by name only, never their values, with the
 * lock holder and the last job of each, read for all of them in two queries.
 */
export async function describeTargets(deps: AppDeps, rows: TargetRow[]) {
  const names = rows.map((r) => r.name);
  const pool = deps.db.$client;
  const [last, locks] = await Promise.all([
    pool.query(
      `SELECT DISTINCT ON (target) target, id, kind, status FROM jobs
       WHERE target = ANY($1::text[]) ORDER BY target, num DESC`,
      [names],
    ),
    pool.query(
      `SELECT l.target, l.job_id, j.kind, j.status FROM target_locks l JOIN jobs j ON j.id = l.job_id
       WHERE l.target = ANY($1::text[])`,
      [names],
    ),
  ]);
  type Last = { target: string; id: string; kind: string; status: string };
  type Lock = { target: string; job_id: string; kind: string; status: string };
  const lastBy = new Map((last.rows as Last[]).map(({ target, ...job }) => [target, job]));
  const lockBy = new Map((locks.rows as Lock[]).map((l) => [l.target, l]));
  return rows.map((row) => {
    const lock = lockBy.get(row.name);
    return {
      name: row.name,
      ...publicSpec(row.spec as TargetSpec),
      env: Object.fromEntries(Object.keys(openEnv(deps.env.secrets, row.secretEnv)).map((k) => [k, '[secret]'])),
      lock: lock ? { jobId: lock.job_id, kind: lock.kind, status: lock.status } : null,
      lastJob: lastBy.get(row.name) ?? null,
      updatedAt: row.updatedAt.toISOString(),
    };
  });
}

export const describeTarget = async (deps: AppDeps, row: TargetRow) => (await describeTargets(deps, [row]))[0]!;

export async function findTargetRow(db: Db, name: string): Promise<TargetRow | null> {
  const [row] = await db.select().from(targets).where(eq(targets.name, name));
  return row ?? null;
}

/** A target's body: its secrets (`env`, optional) beside the spec of its manager. */
export function parseTargetBody(body: unknown) {
  const { env, ...rest } = parseOr400(targetBody, body, 'target');
  return { env, parsed: parseOr400(targetSpec, rest, 'target') };
}

/** The body as the API document shows it: the spec's alternatives, each with `env`. */
export const targetBodyDocument = () =>
  withProperties(inputJsonSchema(targetSpec), { env: inputJsonSchema(targetBody.shape.env) });

/**
 * Validates and stores a target (create or replace), audited without secret values.
 * `env` replaces the secrets when given (`{}` clears them); without it they are kept,
 * so editing a target's settings never loses its secrets. A credential in the
 * repository URL is sealed with them and the URL stored masked; saving the masked
 * URL keeps the credential.
 */
export async function saveTarget(deps: AppDeps, user: SessionUser, rawName: string, body: unknown) {
  const name = parseOr400(targetName, rawName, 'target name');
  const { env: given, parsed } = parseTargetBody(body);
  assertManagedPaths(parsed, deps.env.managedPaths);
  assertLogSources(parsed, deps.config.DECKHAND_LOG_PATHS);
  assertSafeEndpoints(parsed);
  assertDeployConsistent(parsed);
  const existing = await findTargetRow(deps.db, name);
  const kept = openTargetSecrets(deps.env.secrets, existing?.secretEnv ?? null);
  const secrets = given ?? kept.env;
  const repo = parsed.deploy ? sealableRepoUrl(parsed.deploy.repo, kept.repo) : { url: null, credential: null };
  const spec: TargetSpec =
    parsed.deploy && repo.url ? { ...parsed, deploy: { ...parsed.deploy, repo: repo.url } } : parsed;
  try {
    assertEnvWritable({ name, spec, secretEnv: null }, secrets);
  } catch (err) {
    if (err instanceof UnwritableEnvError)
      throw badRequest(err.message, { fieldErrors: { [err.field]: [err.message] } });
    throw err;
  }
  const secretEnv = sealTargetSecrets(deps.env.secrets, { env: secrets, repo: repo.credential });
  await deps.db.transaction(async (tx) => {
    await tx
      .insert(targets)
      .values({ name, spec, secretEnv })
      .onConflictDoUpdate({ target: targets.name, set: { spec, secretEnv, updatedAt: new Date() } });
    await audit(tx, { id: user.id, name: user.username }, existing ? 'target.update' : 'target.create', name, {
      spec,
      env: Object.keys(secrets),
      ...(given === undefined ? {} : { envReplaced: true }),
      ...(repo.credential ? { repoCredential: 'sealed' } : {}),
    });
  });
  return { row: (await findTargetRow(deps.db, name))!, created: !existing };
}

/** Deletes a target unless a job is running on it; audited. The API and the pages both come here. */
export async function deleteTarget(deps: AppDeps, user: SessionUser, name: string): Promise<void> {
  const { db } = deps;
  const holder = await lockHolder(db, name);
  if (holder?.status === 'active') throw conflict(`job ${holder.jobId} is running on ${name}`, holder);
  const gone = await db.delete(targets).where(eq(targets.name, name)).returning({ name: targets.name });
  if (gone.length === 0) throw notFound('target');
  await audit(db, { id: user.id, name: user.username }, 'target.delete', name);
}

/** An admin frees a target's lock whatever holds it; audited with the holder. */
export async function releaseTargetLock(deps: AppDeps, user: SessionUser, name: string) {
  const released = await forceReleaseTarget(deps.db, name);
  if (!released) throw notFound('lock');
  await audit(deps.db, { id: user.id, name: user.username }, 'target.lock.force_release', name, { heldBy: released });
  return released;
}
