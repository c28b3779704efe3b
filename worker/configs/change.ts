import fs from 'node:fs/promises';
import path from 'node:path';
import type { ConfigRequest, ConfigTarget } from '../../jobs/config.ts';
import type { JobContext, KindEnv } from '../../jobs/lib/kind.ts';
import { waitHealthy } from '../health.ts';
import { removeManagedEntry, replaceSymlink } from '../safe-dirs.ts';
import { code, realDirOf, replaceManagedFile, UnsafePathError } from '../safe-fs.ts';
import { backUpConfig } from './backup.ts';
import { readConfigText } from './files.ts';
import { nginxReload, nginxTest, trustedMain } from './nginx.ts';

/**
 * The steps of a config job (DESIGN §10) around one change that `put` makes and `undo` takes
 * back: test the whole config, reload, probe; any failure undoes the change, reloads again and
 * fails with the reason (nginx's own message when `nginx -t` refused it).
 */

export class ConfigRestoredError extends Error {
  override name = 'ConfigRestoredError';
}

interface Change {
  put(): Promise<void>;
  undo(): Promise<void>;
}

async function checkReloadProbe(ctx: JobContext, spec: ConfigTarget, main: string): Promise<void> {
  await ctx.progress(50, `nginx -t -c ${main}`);
  await nginxTest(ctx, main);
  await ctx.progress(70, 'reloading nginx');
  await nginxReload(ctx, main);
  if (!spec.healthUrl) {
    ctx.output('stdout', 'no health URL on this target: the probe is skipped\n');
    return;
  }
  await ctx.progress(85, `probing ${spec.healthUrl}`);
  await waitHealthy(spec.healthUrl, {
    timeoutMs: spec.healthTimeoutSec * 1000,
    verifyTls: spec.healthVerifyTls,
    signal: ctx.signal,
  });
}

async function guarded(ctx: JobContext, spec: ConfigTarget, main: string, change: Change): Promise<void> {
  await change.put();
  try {
    await checkReloadProbe(ctx, spec, main);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    ctx.output('stderr', 'putting the previous config back\n');
    await change.undo();
    const again = await nginxReload(ctx, main, true).then(
      () => 'restored the previous config and reloaded',
      (e: Error) => `restored the previous config, but reloading it failed too: ${e.message}`,
    );
    throw new ConfigRestoredError(`${reason}\n${again}`);
  }
}

/** New text for the file (or a version's text): back up, write, test, reload, probe. */
export async function applyText(
  ctx: JobContext,
  env: KindEnv,
  spec: ConfigTarget,
  req: ConfigRequest,
  candidate: string,
): Promise<{ before: string | null }> {
  const main = await trustedMain(spec.configs.main);
  await ctx.progress(10, `backing up ${req.path}`);
  const before = await readConfigText(req.path, env.managedPaths);
  if (before !== null) {
    const copy = await backUpConfig(env.stateDir, req.target, ctx.jobId, req.path, before);
    ctx.output('stdout', `backed up ${req.path} to ${copy}\n`);
  }
  const write = (text: string) =>
    replaceManagedFile(req.path, text, env.managedPaths, { mode: 0o644, keepAttrs: true });
  const undo = async () => {
    if (before === null) await fs.rm(await realDirOf(req.path, env.managedPaths), { force: true });
    else await write(before);
  };
  await ctx.progress(30, `writing ${req.path}`);
  if (req.test) {
    // Test only: the candidate is on disk just for `nginx -t`, under the target's lock, and
    // the live file goes back whatever the verdict; nothing is reloaded.
    await write(candidate);
    try {
      await ctx.progress(50, `nginx -t -c ${main}`);
      await nginxTest(ctx, main);
    } finally {
      await undo();
    }
    return { before };
  }
  await guarded(ctx, spec, main, { put: () => write(candidate), undo });
  return { before };
}

/** Where a site's symlink lives, and what is there now (null: nothing; a non-link is refused). */
async function siteLink(env: KindEnv, spec: ConfigTarget, file: string) {
  const link = path.join(spec.configs.enabledDir!, path.basename(file));
  const real = await realDirOf(link, env.managedPaths);
  const st = await fs.lstat(real).catch((err) => (code(err) === 'ENOENT' ? null : Promise.reject(err)));
  if (st && !st.isSymbolicLink()) throw new UnsafePathError(`${link} is not a symlink; move it away first`);
  return { link, was: st ? await fs.readlink(real) : null };
}

/** Enables (a symlink in enabledDir to the file) or disables (no symlink) a site. */
export async function toggleSite(ctx: JobContext, env: KindEnv, spec: ConfigTarget, req: ConfigRequest) {
  const main = await trustedMain(spec.configs.main);
  const { link, was } = await siteLink(env, spec, req.path);
  const linkTo = (to: string) => replaceSymlink(link, to, env.managedPaths);
  const unlink = () => removeManagedEntry(link, env.managedPaths);
  await ctx.progress(30, `${req.enabled ? 'enabling' : 'disabling'} ${req.path} (${link})`);
  await guarded(ctx, spec, main, {
    put: () => (req.enabled ? linkTo(req.path) : unlink()),
    undo: () => (was === null ? unlink() : linkTo(was)),
  });
  return { link, enabled: req.enabled, was };
}
