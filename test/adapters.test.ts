import { describe, expect, it } from 'vitest';
import { parseSupervisorStatus, supervisorctlArgv } from '../worker/adapters/supervisor.ts';
import { parseSystemctlShow, systemctlArgv, systemdAdapter } from '../worker/adapters/systemd.ts';

describe('systemd adapter (unit tests of the systemctl argv and output parsing; no systemd here)', () => {
  it('builds restart and reload argv with -- before the unit', () => {
    expect(systemctlArgv.apply('restart', 'nginx.service')).toEqual([
      'restart',
      '--no-ask-password',
      '--',
      'nginx.service',
    ]);
    expect(systemctlArgv.apply('reload', '-evil.service')).toEqual([
      'reload',
      '--no-ask-password',
      '--',
      '-evil.service',
    ]);
    expect(systemctlArgv.show('app@1.service')).toEqual([
      'show',
      '--no-pager',
      '--property=MainPID,ActiveState,SubState,LoadState',
      '--',
      'app@1.service',
    ]);
  });

  it('argv: the adapter starts and stops a unit with systemctl start/stop, -- before the unit (DESIGN §10)', async () => {
    const calls: string[][] = [];
    const adapter = systemdAdapter('-evil.service', async (file, args) => {
      calls.push([file, ...args]);
      return { exitCode: 0, signal: null, stdout: '' };
    });
    await adapter.start!();
    await adapter.stop();
    expect(calls).toEqual([
      ['systemctl', 'start', '--no-ask-password', '--', '-evil.service'],
      ['systemctl', 'stop', '--no-ask-password', '--', '-evil.service'],
    ]);
  });

  it('parses systemctl show for a running, a stopped and an unknown unit', () => {
    expect(parseSystemctlShow('MainPID=4321\nActiveState=active\nSubState=running\nLoadState=loaded\n')).toEqual({
      running: true,
      pid: 4321,
      workerPids: [],
      detail: 'loaded active (running)',
    });
    expect(parseSystemctlShow('MainPID=0\nActiveState=inactive\nSubState=dead\nLoadState=loaded\n')).toMatchObject({
      running: false,
      pid: null,
    });
    expect(parseSystemctlShow('MainPID=0\nActiveState=inactive\nSubState=dead\nLoadState=not-found\n').detail).toBe(
      'not-found inactive (dead)',
    );
  });

  it('runs systemctl through the job’s exec, without a shell, and fails on a non-zero exit', async () => {
    const calls: [string, readonly string[]][] = [];
    const exec = async (file: string, args: readonly string[]) => {
      calls.push([file, args]);
      return { exitCode: args[0] === 'restart' ? 1 : 0, signal: null, stdout: 'MainPID=7\nActiveState=active\n' };
    };
    const adapter = systemdAdapter('web.service', exec);
    expect((await adapter.state()).pid).toBe(7);
    await expect(adapter.apply('restart')).rejects.toThrow('systemctl restart web.service exited with 1');
    await adapter.apply('reload');
    expect(calls.map(([f, a]) => [f, a[0]])).toEqual([
      ['systemctl', 'show'],
      ['systemctl', 'restart'],
      ['systemctl', 'reload'],
    ]);
  });
});

describe('supervisor adapter (argv and status parsing)', () => {
  it('builds supervisorctl argv against the target’s config', () => {
    expect(supervisorctlArgv.restart('/etc/supervisor/supervisord.conf', 'web')).toEqual([
      '-c',
      '/etc/supervisor/supervisord.conf',
      'restart',
      'web',
    ]);
    expect(supervisorctlArgv.reload('/c', 'web')).toEqual(['-c', '/c', 'signal', 'HUP', 'web']);
  });

  it('parses RUNNING, STOPPED and FATAL lines', () => {
    expect(
      parseSupervisorStatus('web                              RUNNING   pid 1234, uptime 0:01:02\n'),
    ).toMatchObject({
      running: true,
      pid: 1234,
    });
    expect(parseSupervisorStatus('web                              STOPPED   Nov 23 12:00 AM\n')).toMatchObject({
      running: false,
      pid: null,
    });
    expect(parseSupervisorStatus('web: ERROR (no such process)\n').running).toBe(false);
  });
});
