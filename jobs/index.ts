import certReload from './cert-reload.ts';
import config from './config.ts';
import deploy from './deploy.ts';
import type { JobKind } from './lib/kind.ts';
import notify from './notify.ts';
import restart from './restart.ts';
import script from './script.ts';

/** The shipped job kinds, by name. Each definition lives in `jobs/<name>.ts`, its run half in `worker/kinds/<name>.ts`. */
export type KindRegistry = ReadonlyMap<string, JobKind<unknown>>;

export function registryOf<T extends unknown[]>(...kinds: { [K in keyof T]: JobKind<T[K]> }): KindRegistry {
  return new Map(kinds.map((k: JobKind<unknown>) => [k.name, k]));
}

export const shippedKinds: KindRegistry = registryOf(script, restart, certReload, deploy, config, notify);
