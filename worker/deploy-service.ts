import type { Db } from '../db/client.ts';
import { ProcessFailedError } from '../jobs/lib/errors.ts';
import type { JobContext } from '../jobs/lib/kind.ts';
import { envFileOf, supervisorProgram, systemdDropIn } from '../jobs/lib/service-env.ts';
import type { Target } from '../jobs/lib/targets.ts';
import { adapterFor } from './adapters/index.ts';
import { supervisorctlArgv } from './adapters/supervisor.ts';
import { systemctlArgv } from './adapters/systemd.ts';
import type { Exec } from './adapters/types.ts';
import { waitHealthy } from './health.ts';
import { type ReleaseLayout, readCurrent } from './releases.ts';
import { assertWebTierRuns, restartWebTier } from './self-restart.ts';
import { writePrivateFile } from './service-env.ts';
import { trustedConfigPath } from './trusted-config.ts';
import { verifiedRestart } from './verified-restart.ts';

async function run(exec: Exec, file: string, args: string[]) {
  const r = await exec(file, args, { timeoutMs: 120_000 });
  if (r.exitCode !== 0) {
    // argv is [-c config] verb [name]: the message names the verb and the program, not the config path.
    throw new ProcessFailedError(
      `${file} ${args.slice(args[0] === '-c' ? 2 : 0).join(' ')} exited with ${r.exitCode}`,
      r.exitCode,
      r.signal,
    );
  }
}

/**
 * Hands the secrets to the service manager: a systemd drop-in (then daemon-reload),
 * or the supervisor program's file (then reread and update).
 */
async function deliverEnvironment(exec: Exec, target: Target, layout: ReleaseLayout, secrets: Record<string, string>) {
  const { spec } = target;
  if (spec.manager === 'systemd' && Object.keys(secrets).length > 0) {
    await writePrivateFile(envFileOf(target)!, systemdDropIn(secrets), layout.managedPaths);
    await run(exec, 'systemctl', systemctlArgv.daemonReload());
  }
  if (spec.manager === 'supervisor' && spec.deploy?.programFile && spec.deploy.command) {
    const text = supervisorProgram({
      program: spec.program,
      command: spec.deploy.command,
      directory: layout.current,
      env: secrets,
    });
    await writePrivateFile(spec.deploy.programFile, text, layout.managedPaths);
    const config = await trustedConfigPath(spec.configPath);
    await run(exec, 'supervisorctl', supervisorctlArgv.reread(config));
    await run(exec, 'supervisorctl', supervisorctlArgv.update(config, spec.program));
  }
}

export interface RestartReleaseOptions {
  db: Db;
  exec: Exec;
  signal: AbortSignal;
  progress: (percent: number, step: string) => Promise<void>;
}

/** Restarts the target on whatever `current` now names, then waits for its health URL (DESIGN §1: deploy). */
export async function restartRelease(
  ctx: JobContext,
  target: Target,
  layout: ReleaseLayout,
  secrets: Record<string, string>,
  o: RestartReleaseOptions,
): Promise<void> {
  const { spec } = target;
  const d = spec.deploy!;
  const url = (d.healthUrl ?? spec.healthUrl)!;
  const timeoutMs = (d.healthTimeoutSec ?? spec.healthTimeoutSec) * 1000;
  if (spec.manager === 'self') {
    await o.progress(75, 'rolling restart of the Deckhand web tier');
    const release = await readCurrent(layout);
    const pids = await restartWebTier(o.db, `deploy ${ctx.jobId}`, o.signal);
    await o.progress(85, `checking that every web process runs ${release}`);
    await assertWebTierRuns(release!, pids, {
      healthUrl: url,
      verifyTls: spec.healthVerifyTls,
      timeoutMs,
      signal: o.signal,
    });
  } else {
    await o.progress(75, `restarting ${target.name}`);
    await deliverEnvironment(o.exec, target, layout, secrets);
    await verifiedRestart({ ...ctx, exec: o.exec }, target.name, adapterFor(spec, o.exec), {
      mode: 'restart',
      startIfStopped: true,
      signal: o.signal,
    });
  }
  await o.progress(88, `health check ${url}`);
  await waitHealthy(url, { timeoutMs, verifyTls: spec.healthVerifyTls, signal: o.signal });
}
