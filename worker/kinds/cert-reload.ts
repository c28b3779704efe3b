import { sendControl } from '../../db/control.ts';
import certReload, { loadBundle, loadTlsTarget, type TlsTarget } from '../../jobs/cert-reload.ts';
import { ProcessFailedError } from '../../jobs/lib/errors.ts';
import type { JobContext, KindEnv } from '../../jobs/lib/kind.ts';
import { adapterFor } from '../adapters/index.ts';
import { restoreBackup, swapIn } from '../cert-files.ts';
import { restartWebTier } from '../self-restart.ts';
import { waitForFingerprint } from '../tls-probe.ts';
import { trustedConfigPath } from '../trusted-config.ts';
import { defineHandler } from './handler.ts';

/**
 * Makes whatever serves the certificate pick up the pair now on disk. A restore
 * runs even while the job is being cancelled: the old pair must go live again.
 */
async function reload(ctx: JobContext, env: KindEnv, spec: TlsTarget, restoring = false): Promise<void> {
  const exec: JobContext['exec'] = restoring ? (f, a, o) => ctx.exec(f, a, { ...o, unstoppable: true }) : ctx.exec;
  if (spec.manager === 'self') {
    // Deckhand's own certificate: every web process loads the pair in place (no restart, nobody signed out),
    // unless the target asks for a rolling restart instead.
    if (spec.tls.reload === 'restart')
      await restartWebTier(env.db, `cert-reload ${ctx.jobId}`, new AbortController().signal);
    else await sendControl(env.db, { type: 'reload-tls', by: `cert-reload ${ctx.jobId}` });
    return;
  }
  if (spec.tls.reload !== 'nginx') {
    await adapterFor(spec, exec).apply(spec.tls.reload === 'signal' ? 'reload' : 'restart');
    return;
  }
  const conf = spec.tls.nginxConfig ? ['-c', await trustedConfigPath(spec.tls.nginxConfig)] : [];
  for (const args of [
    ['-t', ...conf],
    [...conf, '-s', 'reload'],
  ]) {
    const r = await exec('nginx', args, { timeoutMs: 30_000 });
    if (r.exitCode !== 0)
      throw new ProcessFailedError(`nginx ${args.join(' ')} exited with ${r.exitCode}`, r.exitCode, r.signal);
  }
}

/** Swaps the pair in, reloads and probes; any failure puts the old pair back and reloads again. */
export default defineHandler(certReload, async (ctx, req, env) => {
  await ctx.progress(10, 'validating the certificate bundle');
  const spec = await loadTlsTarget(env, req.target);
  const { certPem, keyPem, inspected } = await loadBundle(env, req.bundle, spec);
  ctx.output(
    'stdout',
    `new certificate ${inspected.subject}, ${inspected.fingerprint}, valid until ${inspected.notAfter.toISOString()}\n`,
  );

  // `nginx -t` alone loads the modules its config names, as root: refuse, before touching the pair,
  // a config that anyone but root could edit.
  if (spec.tls.reload === 'nginx' && spec.tls.nginxConfig) await trustedConfigPath(spec.tls.nginxConfig);
  await ctx.progress(25, `writing the new pair to ${spec.tls.certPath}`);
  await swapIn(spec.tls, certPem, keyPem, env.managedPaths);
  try {
    await ctx.progress(50, `reloading (${spec.tls.reload})`);
    await reload(ctx, env, spec);
    await ctx.progress(75, `probing ${spec.tls.probe} for the new certificate`);
    await waitForFingerprint(spec.tls.probe, inspected.fingerprint, {
      timeoutMs: spec.tls.probeTimeoutSec * 1000,
      servername: spec.tls.serverName,
      signal: ctx.signal,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    ctx.output('stderr', `${reason}\nrestoring the previous certificate\n`);
    await restoreBackup(spec.tls, env.managedPaths);
    const again = await reload(ctx, env, spec, true).then(
      () => 'restored the previous certificate and reloaded',
      (e: Error) => `restored the previous certificate, but reloading it failed too: ${e.message}`,
    );
    throw new Error(`${reason}; ${again}`);
  }
  await ctx.progress(100, `${spec.tls.probe} serves the new certificate`);
  return { fingerprint: inspected.fingerprint, notAfter: inspected.notAfter.toISOString() };
});
