import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ProcessFailedError, UnrecoverableError } from '../jobs/lib/errors.ts';
import type { JobContext } from '../jobs/lib/kind.ts';
import { gitFetchAuth } from '../jobs/lib/repo-credential.ts';
import { makeFreshDir } from './safe-dirs.ts';

/**
 * git as root on a target's behalf (DESIGN §9). The bare mirror is Deckhand's own:
 * `<DECKHAND_DATA_DIR>/mirrors/<target>.git`, the worker's, mode 0700, never in a
 * target's tree where a service account could plant hooks or config. Every git run
 * also disables hooks, system and global config, prompts, and every transport but
 * file, git, http(s) and ssh.
 */

/** Deckhand's mirror directory is missing its guarantees (another owner, a symlink) and is not used. */
export class UnsafeMirrorError extends UnrecoverableError {
  override name = 'UnsafeMirrorError';
}

const TRANSPORTS = ['file', 'git', 'http', 'https', 'ssh'];

/** `-c` settings before every command: a planted or leftover config cannot turn these back on. */
const HARDENED = [
  ['core.hooksPath', '/dev/null'],
  ['core.fsmonitor', 'false'],
  ['protocol.allow', 'never'],
  ...TRANSPORTS.map((t) => [`protocol.${t}.allow`, 'always']),
  ['protocol.ext.allow', 'never'],
].flatMap(([k, v]) => ['-c', `${k}=${v}`]);

export const mirrorOf = (stateDir: string, target: string) => path.join(stateDir, 'mirrors', `${target}.git`);

interface GitRun {
  /** Unset only for `init`, which names its directory itself. */
  gitDir?: string;
  workTree?: string;
  quiet?: boolean;
  env?: Record<string, string>;
}

/** git without a shell, hooks, prompts or any config but the mirror's own, which only Deckhand writes. */
function git(ctx: JobContext, command: string, args: string[], o: GitRun) {
  const env: Record<string, string> = {
    // First, so that nothing a caller passes can turn the settings below back off.
    ...o.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ALLOW_PROTOCOL: TRANSPORTS.join(':'),
    // ssh still finds its keys and known_hosts under HOME; git's own files there are ignored (above).
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
  };
  const where = [...(o.gitDir ? [`--git-dir=${o.gitDir}`] : []), ...(o.workTree ? [`--work-tree=${o.workTree}`] : [])];
  const argv = [...HARDENED, ...where, command, ...args];
  return ctx.exec('git', argv, { timeoutMs: 600_000, env, quiet: o.quiet ?? false }).then((r) => {
    if (r.exitCode !== 0)
      throw new ProcessFailedError(`git ${command} exited with ${r.exitCode}`, r.exitCode, r.signal);
    return r.stdout;
  });
}

/** Creates `dir` (mode 0700) or checks it: the worker's own, not a symlink; a looser mode is tightened. */
async function ensurePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const handle = await fs
    .open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
    .catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ELOOP' || err.code === 'ENOTDIR') {
        throw new UnsafeMirrorError(`refusing ${dir}: it is not a directory (a symlink?); remove it`);
      }
      throw err;
    });
  try {
    const st = await handle.stat();
    const uid = process.getuid?.() ?? st.uid;
    if (st.uid !== uid)
      throw new UnsafeMirrorError(`refusing ${dir}: it belongs to uid ${st.uid}, not ${uid}; remove it`);
    if ((st.mode & 0o777) !== 0o700) await handle.chmod(0o700);
  } finally {
    await handle.close();
  }
}

/** The mirror and the `mirrors` directory above it, both private to the worker's user. */
export async function ensureMirror(gitDir: string): Promise<void> {
  const mirrors = path.dirname(gitDir);
  await fs.mkdir(path.dirname(mirrors), { recursive: true });
  await ensurePrivateDir(mirrors);
  await ensurePrivateDir(gitDir);
}

/**
 * Fetches every branch and tag into the mirror and resolves `ref` there to a full commit sha.
 * A credential in `repo` goes to git in its environment, never on a command line.
 */
export async function fetchAndResolve(ctx: JobContext, gitDir: string, realRepo: string, ref: string) {
  await ensureMirror(gitDir);
  // No templates: nothing (sample hooks included) is copied in from outside.
  await git(ctx, 'init', ['--bare', '--quiet', '--template=', gitDir], { quiet: true });
  const refspecs = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'];
  const { url: repo, env } = gitFetchAuth(realRepo);
  await git(ctx, 'fetch', ['--prune', '--no-tags', '--quiet', '--end-of-options', repo, ...refspecs], { gitDir, env });
  const sha = await git(ctx, 'rev-parse', ['--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], {
    gitDir,
    quiet: true,
  }).catch(() => {
    throw new ProcessFailedError(`${ref} is not a branch, tag or commit of ${repo}`, 1, null);
  });
  return sha.trim();
}

/**
 * Writes the tree of `sha` into a new release directory: no .git inside, so the release
 * is just files. The directory is created here (nothing planted there is used) and git
 * works from the mirror (--git-dir) with its index in the mirror, so neither a hook nor
 * a config in the target's tree is ever read.
 */
export async function checkout(
  ctx: JobContext,
  gitDir: string,
  releaseDir: string,
  sha: string,
  managed: readonly string[],
) {
  const dir = await makeFreshDir(releaseDir, managed);
  const index = path.join(gitDir, `index-${path.basename(dir)}`);
  try {
    await git(ctx, 'checkout', ['--force', sha, '--', '.'], {
      gitDir,
      workTree: dir,
      env: { GIT_INDEX_FILE: index },
    });
  } finally {
    await fs.rm(index, { force: true });
  }
  return dir;
}
