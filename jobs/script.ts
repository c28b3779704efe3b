import { z } from 'zod';
import { defineKind } from './lib/kind.ts';
import { loadScript, scriptName, validateParams } from './lib/manifest.ts';

const request = z.strictObject({
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
});
