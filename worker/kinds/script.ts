import { ProcessFailedError, UnrecoverableError } from '../../jobs/lib/errors.ts';
import { buildArgv, loadScript, validateParams } from '../../jobs/lib/manifest.ts';
import script from '../../jobs/script.ts';
import { defineHandler } from './handler.ts';

/** Runs the script without a shell, with the manifest's argv, checked again against the manifest. */
export default defineHandler(script, async (ctx, req, env) => {
  const script = await loadScript(env.scriptsDir, req.script).catch((err) => {
    throw new UnrecoverableError(err instanceof Error ? err.message : String(err));
  });
  const params = validateParams(script, req.params);
  const argv = buildArgv(script.manifest, params);
  const { exitCode, signal } = await ctx.exec(script.file, argv, { timeoutMs: script.manifest.timeoutSec * 1000 });
  if (exitCode !== 0) {
    throw new ProcessFailedError(`${script.name} exited with ${signal ?? `code ${exitCode}`}`, exitCode, signal);
  }
  return { exitCode };
});
