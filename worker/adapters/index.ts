import { UnrecoverableError } from '../../jobs/lib/errors.ts';
import type { TargetSpec } from '../../jobs/lib/targets.ts';
import { signalAdapter } from './signal.ts';
import { supervisorAdapter } from './supervisor.ts';
import { systemdAdapter } from './systemd.ts';
import type { Exec, ServiceAdapter } from './types.ts';

export function adapterFor(spec: TargetSpec, exec: Exec): ServiceAdapter {
  switch (spec.manager) {
    case 'systemd':
      return systemdAdapter(spec.unit, exec);
    case 'supervisor':
      return supervisorAdapter(spec.program, spec.configPath, exec);
    case 'signal':
      return signalAdapter(spec.pidfile, spec.signal, spec.match);
    case 'self':
      throw new UnrecoverableError('Deckhand restarts itself from the settings page (a rolling restart), not as a job');
  }
}
