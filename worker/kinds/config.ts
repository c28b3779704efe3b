import { findVersion, recordVersion, sha256 } from '../../db/config-versions.ts';
import config, { loadConfigTarget } from '../../jobs/config.ts';
import { UnrecoverableError } from '../../jobs/lib/errors.ts';
import type { KindEnv } from '../../jobs/lib/kind.ts';
import { applyText, toggleSite } from '../configs/change.ts';
import { defineHandler } from './handler.ts';

/** Who asked for the job, checked again here: config changes are admin-only (DESIGN §4). */
async function requesterOf(env: KindEnv, jobId: string) {
  const { rows } = await env.db.$client.query(
    'SELECT u.id, u.username, u.role FROM jobs j JOIN users u ON u.id = j.requested_by WHERE j.id = $1',
    [jobId],
  );
  const who = rows[0] as { id: string; username: string; role: string } | undefined;
  if (who?.role !== 'admin') throw new UnrecoverableError('config changes are admin-only');
  return who;
}

export default defineHandler(config, async (ctx, req, env) => {
  const spec = await loadConfigTarget(env, req.target, req.path);
  const who = await requesterOf(env, ctx.jobId);
  if (req.enabled !== undefined) {
    const result = await toggleSite(ctx, env, spec, req);
    await ctx.progress(100, `${req.path} ${req.enabled ? 'enabled' : 'disabled'}`);
    return result;
  }
  let candidate = req.text;
  if (req.version !== undefined) {
    const row = await findVersion(env.db, req.target, req.path, req.version);
    if (!row) throw new UnrecoverableError(`${req.path} has no version ${req.version}`);
    candidate = row.text;
  }
  const { before } = await applyText(ctx, env, spec, req, candidate!);
  if (req.test) {
    await ctx.progress(100, 'nginx -t accepts it (nothing applied)');
    return { tested: true, sha256: sha256(candidate!) };
  }
  const version = await recordVersion(env.db, {
    target: req.target,
    path: req.path,
    text: candidate!,
    comment: req.version === undefined ? req.comment : `${req.comment} (restores version ${req.version})`,
    actor: { id: who.id, name: who.username },
    jobId: ctx.jobId,
    origin: 'applied',
    before: before ?? '',
  });
  await ctx.progress(100, `${req.path} is live as version ${version.version}`);
  return { version: version.version, sha256: version.sha256 };
});
