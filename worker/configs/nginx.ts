import { execFile } from 'node:child_process';
import { ProcessFailedError } from '../../jobs/lib/errors.ts';
import type { JobContext } from '../../jobs/lib/kind.ts';
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

/** `nginx -c <main> -s reload`; a restore's reload runs even while the job is being cancelled. */
export async function nginxReload(ctx: JobContext, main: string, restoring = false): Promise<void> {
  const args = ['-c', main, '-s', 'reload'];
  const r = await ctx.exec('nginx', args, { timeoutMs: 30_000, unstoppable: restoring });
  if (r.exitCode !== 0)
    throw new ProcessFailedError(`nginx ${args.join(' ')} exited with ${r.exitCode}`, r.exitCode, r.signal);
}
