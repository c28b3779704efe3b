import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessFailedError } from '../../jobs/lib/errors.ts';
import type { Exec, ServiceAdapter, ServiceState } from './types.ts';

export const supervisorctlArgv = {
  status: (config: string, program: string) => ['-c', config, 'status', program],
  restart: (config: string, program: string) => ['-c', config, 'restart', program],
  /** A reload is the program's own: supervisor sends it SIGHUP. */
  reload: (config: string, program: string) => ['-c', config, 'signal', 'HUP', program],
  start: (config: string, program: string) => ['-c', config, 'start', program],
  /** supervisord sends the program its stopsignal and waits up to its stopwaitsecs, then SIGKILL. */
  stop: (config: string, program: string) => ['-c', config, 'stop', program],
  /** After Deckhand rewrote the program's file: re-read it, then apply the change to that program. */
  reread: (config: string) => ['-c', config, 'reread'],
  update: (config: string, program: string) => ['-c', config, 'update', program],
};

/** Parses `web  RUNNING   pid 1234, uptime 0:01:02` (or STOPPED, FATAL, …). */
export function parseSupervisorStatus(text: string): ServiceState {
  const line = text.trim().split('\n')[0] ?? '';
  const m = /^\S+\s+([A-Z]+)\s*(?:pid (\d+))?/.exec(line);
  const state = m?.[1] ?? 'UNKNOWN';
  return {
    running: state === 'RUNNING',
    pid: m?.[2] ? Number(m[2]) : null,
    workerPids: [],
    detail: line || 'no answer',
  };
}

export function supervisorAdapter(program: string, config: string, exec: Exec): ServiceAdapter {
  const run = async (args: string[]) => {
    const r = await exec('supervisorctl', args, { timeoutMs: 120_000 });
    if (r.exitCode !== 0) {
      throw new ProcessFailedError(
        `supervisorctl ${args[2]} ${program} exited with ${r.exitCode}`,
        r.exitCode,
        r.signal,
      );
    }
  };
  const state = async () => {
    // supervisorctl status exits non-zero for a program that is not running; the text says why.
    const r = await exec('supervisorctl', supervisorctlArgv.status(config, program), {
      timeoutMs: 30_000,
      quiet: true,
    });
    return parseSupervisorStatus(r.stdout);
  };
  return {
    manager: 'supervisor',
    state,
    apply: (mode) => run(supervisorctlArgv[mode](config, program)),
    stop: () => run(supervisorctlArgv.stop(config, program)),
    async start() {
      // A program supervisord is already starting (autostart, or `update` just added it) needs no second start.
      // Each status is a Python process: on a loaded host it costs a second or more, so none is asked twice.
      const deadline = Date.now() + 30_000;
      let now = await state();
      while (/\bSTARTING\b/.test(now.detail) && Date.now() < deadline) {
        await sleep(250);
        now = await state();
      }
      if (!now.running) await run(supervisorctlArgv.start(config, program));
    },
  };
}
