import { ProcessFailedError } from '../../jobs/lib/errors.ts';
import type { Exec, ServiceAdapter, ServiceState } from './types.ts';

/** `systemctl` argv; no shell, and `--` keeps a unit name from ever being read as an option. */
export const systemctlArgv = {
  apply: (mode: 'restart' | 'reload' | 'start' | 'stop', unit: string) => [mode, '--no-ask-password', '--', unit],
  /** After a deploy rewrote the unit's drop-in. */
  daemonReload: () => ['daemon-reload', '--no-ask-password'],
  show: (unit: string) => ['show', '--no-pager', '--property=MainPID,ActiveState,SubState,LoadState', '--', unit],
};

/** Parses `systemctl show` output (`Key=Value` lines). */
export function parseSystemctlShow(text: string): ServiceState {
  const props = Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
  );
  const pid = Number(props.MainPID ?? 0);
  const running = props.ActiveState === 'active' || props.ActiveState === 'reloading';
  return {
    running,
    pid: pid > 0 ? pid : null,
    workerPids: [],
    detail: `${props.LoadState ?? '?'} ${props.ActiveState ?? '?'} (${props.SubState ?? '?'})`,
  };
}

export function systemdAdapter(unit: string, exec: Exec): ServiceAdapter {
  const run = async (args: string[], quiet: boolean) => {
    const r = await exec('systemctl', args, { timeoutMs: 90_000, quiet });
    if (r.exitCode !== 0)
      throw new ProcessFailedError(`systemctl ${args[0]} ${unit} exited with ${r.exitCode}`, r.exitCode, r.signal);
    return r.stdout;
  };
  return {
    manager: 'systemd',
    state: async () => parseSystemctlShow(await run(systemctlArgv.show(unit), true)),
    apply: async (mode) => void (await run(systemctlArgv.apply(mode, unit), false)),
    start: async () => void (await run(systemctlArgv.apply('start', unit), false)),
    stop: async () => void (await run(systemctlArgv.apply('stop', unit), false)),
  };
}
