import fs from 'node:fs/promises';
import path from 'node:path';
import type { KindEnv } from '../jobs/lib/kind.ts';
import { RELEASE_NAME } from '../jobs/lib/release-name.ts';
import type { DeploySpec } from '../jobs/lib/targets.ts';
import { mirrorOf } from './git-mirror.ts';
import { makeManagedDir, removeManagedEntry, replaceSymlink } from './safe-dirs.ts';
import { realDirOf, resolveManaged, UnsafePathError } from './safe-fs.ts';

export interface ReleaseLayout {
  releasesDir: string;
  /** The symlink that names the live release, beside the releases directory. */
  current: string;
  /** Deckhand's own bare mirror of the repository, fetched before each deploy (worker/git-mirror.ts). */
  gitDir: string;
  /** DECKHAND_MANAGED_PATHS: every write is checked against them again, after realpath (worker/safe-fs.ts, safe-dirs.ts). */
  managedPaths: readonly string[];
}

/** A mirror left beside the releases directory by earlier versions is no longer read: its hooks could be anyone's. */
export function layoutOf(
  target: string,
  d: DeploySpec,
  env: Pick<KindEnv, 'stateDir' | 'managedPaths'>,
): ReleaseLayout {
  return {
    releasesDir: d.releasesDir,
    current: path.join(path.dirname(d.releasesDir), 'current'),
    gitDir: mirrorOf(env.stateDir, target),
    managedPaths: env.managedPaths,
  };
}

const STICKY = 0o1000;

/**
 * Every directory above the releases directory must be root's or the worker's and writable by
 * nobody else (a sticky one such as /tmp excepted). Whoever could write one could rename
 * releases/ and put a link in its place between a check and a use: git, install, build and
 * migrate run there as root by path, so the link would hand them a directory of its choosing.
 */
async function assertLockedParents(real: string, shown: string, uid: number): Promise<void> {
  for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
    const st = await fs.lstat(dir);
    const why =
      st.uid !== 0 && st.uid !== uid
        ? `${dir} belongs to uid ${st.uid}`
        : (st.mode & 0o022) !== 0 && !(st.mode & STICKY)
          ? `${dir} is writable by group or others`
          : null;
    if (why)
      throw new UnsafePathError(
        `refusing the releases directory ${shown}: ${why}, who could swap it for a link while root builds there; put it under directories only root or uid ${uid} can write`,
      );
    if (dir === path.dirname(dir)) return;
  }
}

/**
 * The releases directory's real path, checked right before each use: under the managed paths,
 * not itself a symlink, the worker's and writable by nobody else, and so is every directory
 * above it. Root checks code out and removes releases in it, so whoever could rename or replace
 * an entry there could steer those writes (a fresh release directory swapped for a symlink
 * before git writes into it).
 */
async function realReleasesDir(layout: ReleaseLayout): Promise<string> {
  const real = await resolveManaged(layout.releasesDir, layout.managedPaths);
  const st = await fs.lstat(real);
  const uid = process.getuid?.() ?? st.uid;
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    const mode = (st.mode & 0o777).toString(8);
    throw new UnsafePathError(
      `refusing the releases directory ${layout.releasesDir}: it belongs to uid ${st.uid} with mode ${mode}; it must be a directory of uid ${uid}'s, not group- or world-writable`,
    );
  }
  await assertLockedParents(real, layout.releasesDir, uid);
  return real;
}

/** Creates the releases directory (and its parents) under the managed paths, refusing planted symlinks. */
export async function prepareReleasesDir(layout: ReleaseLayout): Promise<void> {
  await makeManagedDir(layout.releasesDir, layout.managedPaths);
  await realReleasesDir(layout);
}

/** Where a new release is checked out: in the checked releases directory. */
export async function releaseDirOf(layout: ReleaseLayout, release: string): Promise<string> {
  return path.join(await realReleasesDir(layout), release);
}

/** True when `release` is a real directory in the releases directory (a planted symlink is not a release). */
export async function hasRelease(layout: ReleaseLayout, release: string): Promise<boolean> {
  if (!RELEASE_NAME.test(release)) return false;
  const st = await fs.lstat(await releaseDirOf(layout, release)).catch(() => null);
  return Boolean(st?.isDirectory());
}

export function releaseName(at: Date, sha: string): string {
  return `${at.toISOString().replace(/\D/g, '').slice(0, 14)}-${sha.slice(0, 7)}`;
}

/** The release `current` points at, or null on a first deploy. */
export async function readCurrent(layout: ReleaseLayout): Promise<string | null> {
  const current = await realDirOf(layout.current, layout.managedPaths);
  const link = await fs.readlink(current).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new Error(`${layout.current} is not a symlink; move it away before the first deploy`);
  });
  return link === null ? null : path.basename(link);
}

/** Points `current` at a release with one rename, so it is always the old or the new one, never missing. */
export async function switchCurrent(layout: ReleaseLayout, release: string): Promise<void> {
  const target = path.relative(path.dirname(layout.current), path.join(layout.releasesDir, release));
  await replaceSymlink(layout.current, target, layout.managedPaths);
}

export async function removeRelease(layout: ReleaseLayout, release: string): Promise<void> {
  if (!RELEASE_NAME.test(release)) throw new Error(`refusing to remove ${release}: not a release name`);
  await removeManagedEntry(await releaseDirOf(layout, release), layout.managedPaths);
}

/**
 * The releases beyond the newest `keep` (by name, i.e. by time), never the
 * current one nor the one before it, which a rollback needs.
 */
export async function releasesToPrune(layout: ReleaseLayout, keep: number, protect: (string | null)[]) {
  const names = (await fs.readdir(layout.releasesDir)).filter((n) => RELEASE_NAME.test(n)).sort();
  return names.slice(0, Math.max(0, names.length - keep)).filter((n) => !protect.includes(n));
}
