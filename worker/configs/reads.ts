import { z } from 'zod';
import { latestVersion, latestVersions, sha256 } from '../../db/config-versions.ts';
import { HostReadError } from '../../jobs/lib/host-reads.ts';
import { loadTarget, type TargetSpec, targetName } from '../../jobs/lib/targets.ts';
import type { HostReadDeps } from '../host-reads/index.ts';
import type { HostReadHandlers } from '../host-server.ts';
import { assertConfigPath, enabledTargets, listConfigFiles, readConfigText } from './files.ts';

/**
 * The `config-list` and `config-file` live reads (DESIGN §10). Drift is the file's sha256
 * against the latest recorded version; a file with no version yet has none (version null,
 * drift false): a read records nothing, and the first apply or adopt makes version 1.
 */

const listParams = z.strictObject({ target: targetName });
const fileParams = z.strictObject({ target: targetName, path: z.string().min(1).max(4096) });

type WithConfigs = TargetSpec & { configs: NonNullable<TargetSpec['configs']> };

async function configsOf(deps: HostReadDeps, name: string): Promise<WithConfigs> {
  const { spec } = await loadTarget({ db: deps.db, managedPaths: deps.config.DECKHAND_MANAGED_PATHS }, name).catch(
    (err: Error) => {
      throw new HostReadError(404, 'not_found', err.message);
    },
  );
  if (!spec.configs) throw new HostReadError(404, 'no_configs', `target ${name} has no configs section`);
  return spec as WithConfigs;
}

export function configReads(deps: HostReadDeps): HostReadHandlers {
  const managed = deps.config.DECKHAND_MANAGED_PATHS;
  return {
    'config-list': async (raw) => {
      const p = listParams.parse(raw);
      const { configs } = await configsOf(deps, p.target);
      const files = await listConfigFiles(configs, managed);
      const [enabled, versions] = await Promise.all([
        enabledTargets(configs, managed),
        latestVersions(deps.db, p.target, files),
      ]);
      const items = [];
      for (const file of files) {
        const v = versions.get(file);
        const text = await readConfigText(file, managed).catch(() => null);
        items.push({
          path: file,
          enabled: configs.enabledDir ? enabled.has(file) : null,
          drift: v !== undefined && text !== null && sha256(text) !== v.sha256,
          version: v?.version ?? null,
        });
      }
      return { items };
    },
    'config-file': async (raw) => {
      const p = fileParams.parse(raw);
      const { configs } = await configsOf(deps, p.target);
      assertConfigPath(configs, p.path);
      const text = await readConfigText(p.path, managed);
      if (text === null) throw new HostReadError(404, 'not_found', `${p.path} does not exist`);
      const last = await latestVersion(deps.db, p.target, p.path);
      return {
        path: p.path,
        text,
        sha256: sha256(text),
        version: last?.version ?? null,
        drift: last !== null && sha256(text) !== last.sha256,
      };
    },
  };
}
