import fs from 'node:fs/promises';
import path from 'node:path';
import { ProcessFailedError } from '../jobs/lib/errors.ts';
import type { JobContext } from '../jobs/lib/kind.ts';
import type { DeploySpec } from '../jobs/lib/targets.ts';

/** `<UTC yyyymmddhhmmss>-<sha7>`: sorts by time, and is the only shape Deckhand ever deletes. */
export const RELEASE_NAME = /^\d{14}-[0-9a-f]{7}$/;

export interface ReleaseLayout {
  releasesDir: string;
  /** The symlink that names the live release, beside the releases directory. */
  current: string;
  /** A bare mirror of the repository, fetched before each deploy. */
  gitDir: string;
}

export function layoutOf(d: DeploySpec): ReleaseLayout {
  const root = path.dirname(d.releasesDir);
  return { releasesDir: d.releasesDir, current: path.join(root, 'current'), gitDir: path.join(root, '.deckhand-git') };
}

export function releaseName(at: Date, sha: string): string {
  return `${at.toISOString().replace(/\D/g, '').slice(0, 14)}-${sha.slice(0, 7)}`;
}

/** The release `current` points at, or null on a first deploy. */
export async function readCurrent(layout: ReleaseLayout): Promise<string | null> {
  const link = await fs.readlink(layout.current).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new Error(`${layout.current} is not a symlink; move it away before the first deploy`);
  });
  return link === null ? null : path.basename(link);
}

/** Points `current` at a release with one rename, so it is always the old or the new one, never missing. */
export async function switchCurrent(layout: ReleaseLayout, release: string): Promise<void> {
  const tmp = `${layout.current}.deckhand-${process.pid}`;
  await fs.rm(tmp, { force: true });
  await fs.symlink(path.relative(path.dirname(layout.current), path.join(layout.releasesDir, release)), tmp);
  await fs.rename(tmp, layout.current);
}

export async function removeRelease(layout: ReleaseLayout, release: string): Promise<void> {
  if (!RELEASE_NAME.test(release)) throw new Error(`refusing to remove ${release}: not a release name`);
  await fs.rm(path.join(layout.releasesDir, release), { recursive: true, force: true });
}

/**
 * The releases beyond the newest `keep` (by name, i.e. by time), never the
 * current one nor the one before it, which a rollback needs.
 */
export async function releasesToPrune(layout: ReleaseLayout, keep: number, protect: (string | null)[]) {
  const names = (await fs.readdir(layout.releasesDir)).filter((n) => RELEASE_NAME.test(n)).sort();
  return names.slice(0, Math.max(0, names.length - keep)).filter((n) => !protect.includes(n));
}

/** git without a shell, without prompts, and only over transports that cannot run commands. */
function git(ctx: JobContext, args: string[], opts: { quiet?: boolean; env?: Record<string, string> } = {}) {
  const env: Record<string, string> = {
    GIT_TERMINAL_PROMPT: '0',
    GIT_ALLOW_PROTOCOL: 'file:git:http:https:ssh',
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
    ...opts.env,
  };
  return ctx.exec('git', args, { timeoutMs: 600_000, env, quiet: opts.quiet ?? false }).then((r) => {
    if (r.exitCode !== 0)
      throw new ProcessFailedError(`git ${args[2] ?? args[0]} exited with ${r.exitCode}`, r.exitCode, r.signal);
    return r.stdout;
  });
}

/** Fetches every branch and tag into the mirror and resolves `ref` there to a full commit sha. */
export async function fetchAndResolve(ctx: JobContext, layout: ReleaseLayout, repo: string, ref: string) {
  await fs.mkdir(layout.gitDir, { recursive: true });
  await git(ctx, ['init', '--bare', '--quiet', layout.gitDir], { quiet: true });
  const g = `--git-dir=${layout.gitDir}`;
  await git(ctx, [
    g,
    'fetch',
    '--prune',
    '--no-tags',
    '--quiet',
    '--end-of-options',
    repo,
    '+refs/heads/*:refs/heads/*',
    '+refs/tags/*:refs/tags/*',
  ]);
  const sha = await git(ctx, [g, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], {
    quiet: true,
  }).catch(() => {
    throw new ProcessFailedError(`${ref} is not a branch, tag or commit of ${repo}`, 1, null);
  });
  return sha.trim();
}

/** Writes the tree of `sha` into a new release directory; no .git inside, so the release is just files. */
export async function checkout(ctx: JobContext, layout: ReleaseLayout, sha: string, release: string) {
  const dir = path.join(layout.releasesDir, release);
  await fs.mkdir(dir, { recursive: true });
  const index = path.join(layout.gitDir, `index-${release}`);
  try {
    await git(ctx, [`--git-dir=${layout.gitDir}`, `--work-tree=${dir}`, 'checkout', '--force', sha, '--', '.'], {
      env: { GIT_INDEX_FILE: index },
    });
  } finally {
    await fs.rm(index, { force: true });
  }
  return dir;
}
