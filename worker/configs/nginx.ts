import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessFailedError } from '../../jobs/lib/errors.ts';
import type { JobContext } from '../../jobs/lib/kind.ts';
import { inspectProcess, readPidfile } from '../adapters/pidfile.ts';
import { childPids } from '../adapters/signal.ts';
import { trustedConfigPath } from '../trusted-config.ts';

/** `nginx -t` refused the config; the message is nginx's own, as it printed it. */
export class NginxTestError extends Error {
  override name = 'NginxTestError';
}

/** nginx's main file, once it and every directory above it are root's alone (DESIGN §9). */
export const trustedMain = (main: string) => trustedConfigPath(main);

/**
 * `nginx -t -c <main>` on the whole config. Run directly rather than through ctx.exec because
 * its verdict is on stderr and the job's error must quote it; it is short, bounded and aborted
 * with the job. Its output is also written to the job's output.
 */
export function nginxTest(ctx: JobContext, main: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'nginx',
      ['-t', '-c', main],
      { timeout: 30_000, signal: ctx.signal, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, maxBuffer: 256 * 1024 },
      (err, stdout, stderr) => {
        const said = `${stdout}${stderr}`.trim();
        if (said) ctx.output(err ? 'stderr' : 'stdout', `${said}\n`);
        if (!err) return resolve();
        const verdict = said
          .split('\n')
          .filter((l) => !/test failed$/.test(l))
          .join('\n');
        reject(new NginxTestError(verdict || `nginx -t failed: ${err.message}`));
      },
    );
  });
}

/**
 * `nginx -c <main> -s reload`, done once the master has taken the new config in: the signal alone
 * returns before the master has read it, and a probe then would judge the old config (waitTakenIn).
 * A restore's reload runs, and is waited for, even while the job is being cancelled.
 */
export async function nginxReload(ctx: JobContext, main: string, restoring = false): Promise<void> {
  const master = await nginxMaster(main);
  const args = ['-c', main, '-s', 'reload'];
  const r = await ctx.exec('nginx', args, { timeoutMs: 30_000, unstoppable: restoring });
  if (r.exitCode !== 0)
    throw new ProcessFailedError(`nginx ${args.join(' ')} exited with ${r.exitCode}`, r.exitCode, r.signal);
  if (master) return waitTakenIn(master, restoring ? undefined : ctx.signal);
  ctx.output('stdout', `no nginx master found through the pid directive of ${main}: waiting 500 ms for the reload\n`);
  await sleep(500);
}

/** The running nginx did not take a reloaded config in: the old one still serves. */
export class NginxReloadError extends Error {
  override name = 'NginxReloadError';
}

/** Debian's compiled-in pidfile, for a main config without a `pid` directive. */
const DEFAULT_PIDFILE = '/run/nginx.pid';
/** A master parses the whole config and forks new workers well within this. */
const TAKE_IN_MS = 10_000;

interface NginxMaster {
  pid: number;
  /** Its children before the reload: the workers that serve the old config. */
  before: number[];
}

const argvOf = (pid: number) => inspectProcess(pid).then((p) => p?.argv.join(' ') ?? '');

/**
 * The master that `nginx -c main -s reload` signals (the `pid` directive of main), and its current
 * children; null when it cannot be told (a relative or missing pidfile, or no nginx master there).
 * Only read, never signalled: a planted pidfile can at worst make the wait below fail the job.
 */
async function nginxMaster(main: string): Promise<NginxMaster | null> {
  const text = await fs.readFile(main, 'utf8').catch(() => '');
  const pidfile = /^\s*pid\s+([^;\s]+)\s*;/m.exec(text)?.[1] ?? DEFAULT_PIDFILE;
  if (!path.isAbsolute(pidfile)) return null;
  const pid = await readPidfile(pidfile).catch(() => null);
  if (!pid || !(await argvOf(pid)).startsWith('nginx: master process')) return null;
  return { pid, before: await childPids(pid) };
}

/**
 * Waits until the master has taken the reload in: a worker it forked since, and none of the old
 * ones still titled a plain worker (the old ones say "is shutting down" and stop accepting). A
 * master that cannot use the new config (a listen address in use: `nginx -t` never binds) keeps
 * its old workers, and this throws instead of letting a probe pass against the old config.
 */
async function waitTakenIn(master: NginxMaster, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + TAKE_IN_MS;
  while (Date.now() < deadline) {
    const now = await childPids(master.pid);
    const titles = await Promise.all(master.before.filter((p) => now.includes(p)).map(argvOf));
    if (now.some((p) => !master.before.includes(p)) && !titles.includes('nginx: worker process')) return;
    await sleep(100, undefined, signal ? { signal } : undefined);
  }
  throw new NginxReloadError(
    `nginx (master PID ${master.pid}) did not take the new config in within ${TAKE_IN_MS / 1000} s: its old workers still serve; its error log says why (a listen address in use?)`,
  );
}
