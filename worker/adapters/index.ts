import { UnrecoverableError } from '../../jobs/lib/errors.ts';
import type { TargetSpec } from '../../jobs/lib/targets.ts';
import { trustedConfigPath } from '../trusted-config.ts';
import { signalAdapter } from './signal.ts';
import { supervisorAdapter } from './supervisor.ts';
import { systemdAdapter } from './systemd.ts';
import type { Exec, ServiceAdapter } from './types.ts';

export function adapterFor(spec: TargetSpec, exec: Exec): ServiceAdapter {
  switch (spec.manager) {
    case 'systemd':
      return systemdAdapter(spec.unit, exec);
    case 'supervisor':
      return withTrustedConfig(spec.configPath, (config) => supervisorAdapter(spec.program, config, exec));
    case 'signal':
      return signalAdapter(spec.pidfile, spec.signal, spec.match);
    case 'self':
      throw new UnrecoverableError('Deckhand restarts itself from the settings page (a rolling restart), not as a job');
  }
}

/**
 * supervisorctl reads its config as root on every call: each call first checks that only
 * root could have written that file, then runs with its real path.
 */
function withTrustedConfig(file: string, make: (config: string) => ServiceAdapter): ServiceAdapter {
  const adapter = async () => make(await trustedConfigPath(file));
  return {
    manager: 'supervisor',
    state: async () => (await adapter()).state(),
    apply: async (mode) => (await adapter()).apply(mode),
    start: async () => (await adapter()).start?.(),
    stop: async () => (await adapter()).stop(),
  };
}
