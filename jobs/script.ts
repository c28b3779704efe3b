import { z } from 'zod';
import { ProcessFailedError, UnrecoverableError } from './lib/errors.ts';
import { defineKind } from './lib/kind.ts';
import { buildArgv, loadScript, scriptName, validateParams } from './lib/manifest.ts';

const request = z.object({
  script: scriptName,
  params: z.record(z.string(), z.unknown()).default({}),
});

/** Runs an allow-listed troubleshooting script from DECKHAND_SCRIPTS_DIR. */
export default defineKind({
  name: 'script',
  description: 'Run an allow-listed troubleshooting script',
  request,
  // Scripts are diagnostics: a failing one fails again the same way, so one attempt.
  retry: { attempts: 1, backoffMs: 1000 },

  async resolve(req, env) {
    const script = await loadScript(env.scriptsDir, req.script);
    return { target: null, script: script.name, params: validateParams(script, req.params) };
  },

  fromStored: (stored) => ({ script: stored.script, params: stored.params }),

  async run(ctx, req, env) {
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
  },
});
