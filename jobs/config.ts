import { z } from 'zod';
import { findVersion } from '../db/config-versions.ts';
import { isConfigPath } from './lib/config-paths.ts';
import { JobValidationError } from './lib/errors.ts';
import { defineKind, type KindEnv } from './lib/kind.ts';
import { loadTarget, type TargetSpec, targetName } from './lib/targets.ts';

/**
 * Changes one of a target's config files (DESIGN §10): new text, an earlier version back, or a
 * site enabled/disabled by its symlink. Each way is checked by `nginx -t`, reloaded and probed,
 * and put back on any failure. Admin-only: a config is code that nginx runs as root.
 */
const request = z
  .strictObject({
    target: targetName,
    path: z.string().min(2).max(4096),
    text: z
      .string()
      .max(1024 * 1024)
      .optional(),
    version: z.number().int().min(1).optional(),
    enabled: z.boolean().optional(),
    comment: z.string().trim().min(1, 'say why (required)').max(500),
    test: z.boolean().default(false),
  })
  .refine((r) => [r.text, r.version, r.enabled].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of text, version or enabled',
    path: ['text'],
  })
  .refine((r) => !(r.test && r.enabled !== undefined), { message: 'test checks text or a version', path: ['test'] });

export type ConfigRequest = z.infer<typeof request>;
export type ConfigTarget = TargetSpec & { configs: NonNullable<TargetSpec['configs']> };

/** The target, which must have a configs section covering `file`. */
export async function loadConfigTarget(env: KindEnv, name: string, file: string): Promise<ConfigTarget> {
  const { spec } = await loadTarget(env, name);
  if (!spec.configs) throw new JobValidationError(`target ${name} has no configs section`, { target: ['no configs'] });
  if (!isConfigPath(spec.configs, file))
    throw new JobValidationError(`${file} is not one of ${name}'s config files`, {
      fieldErrors: { path: [`not matched by ${spec.configs.files.join(', ')}`] },
    });
  return spec as ConfigTarget;
}

export default defineKind({
  name: 'config',
  description:
    'Change a config file (or enable a site), checked with nginx -t, reloaded and probed, restored on failure',
  request,
  adminOnly: () => true,
  // Not idempotent (a reload, a version row): one attempt, and a lost one stays lost.
  retry: { attempts: 1, backoffMs: 1000 },

  async resolve(req, env) {
    const spec = await loadConfigTarget(env, req.target, req.path);
    if (req.enabled !== undefined && !spec.configs.enabledDir)
      throw new JobValidationError(`target ${req.target} has no enabledDir`, {
        fieldErrors: { enabled: ['no configs.enabledDir'] },
      });
    if (req.version !== undefined && !(await findVersion(env.db, req.target, req.path, req.version)))
      throw new JobValidationError(`${req.path} has no version ${req.version}`, {
        fieldErrors: { version: ['no such version'] },
      });
    const { target, ...params } = req;
    return { target, script: null, params };
  },

  fromStored: (stored) => ({ target: stored.target, ...stored.params }),
});
