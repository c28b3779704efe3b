import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobContext } from '../jobs/lib/kind.ts';
import { supervisorProgram, systemdDropIn, UnwritableEnvError } from '../jobs/lib/service-env.ts';
import { gitRef, type Target, targetSpec } from '../jobs/lib/targets.ts';
import { systemctlArgv } from '../worker/adapters/systemd.ts';
import { restartRelease } from '../worker/deploy-service.ts';
import { layoutOf, releaseName, releasesToPrune } from '../worker/releases.ts';
import { scratchDir } from './support/services.ts';

describe('systemd deploy (unit tests of the drop-in file and the systemctl argv; no systemd here)', () => {
  let health: http.Server;
  let healthUrl: string;
  beforeAll(async () => {
    health = http.createServer((_, res) => res.end('ok')).listen(0, '127.0.0.1');
    await new Promise((r) => health.once('listening', r));
    healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;
  });
  afterAll(() => new Promise((r) => health.close(r)));

  it('writes Environment= lines with systemd quoting of quotes, backslashes and % specifiers', () => {
    expect(systemdDropIn({ PLAIN: 'abc', TRICKY: 'a "b" \\c 100%' })).toBe(
      [
        '# Written by Deckhand on each deploy. Edit the target in Deckhand instead.',
        '[Service]',
        'Environment="PLAIN=abc"',
        'Environment="TRICKY=a \\"b\\" \\\\c 100%%"',
        '',
      ].join('\n'),
    );
    expect(systemctlArgv.daemonReload()).toEqual(['daemon-reload', '--no-ask-password']);
  });

  it('writes the drop-in 0600, runs daemon-reload, restarts the unit and checks health, in that order', async () => {
    const dir = scratchDir('systemd-deploy');
    const dropIn = path.join(dir, 'app.service.d', '50-deckhand-env.conf');
    const spec = targetSpec.parse({
      manager: 'systemd',
      unit: 'app.service',
      deploy: { repo: '/srv/repo', releasesDir: path.join(dir, 'releases'), dropIn, healthUrl },
    });
    const target: Target = { name: 'app', spec, secretEnv: null };
    const calls: string[] = [];
    let mainPid = 100;
    const exec: JobContext['exec'] = async (file, args) => {
      calls.push(`${file} ${args.join(' ')}`);
      if (args[0] === 'restart') mainPid = 101;
      if (args[0] === 'daemon-reload') expect(fs.readFileSync(dropIn, 'utf8')).toContain('Environment="TOKEN=t0k3n"');
      const stdout = `MainPID=${mainPid}\nActiveState=active\nSubState=running\nLoadState=loaded\n`;
      return { exitCode: 0, signal: null, stdout: args[0] === 'show' ? stdout : '' };
    };
    const ctx = { jobId: 'unit', output: () => {}, exec } as unknown as JobContext;
    await restartRelease(
      ctx,
      target,
      layoutOf('app', spec.deploy!, { stateDir: dir, managedPaths: [dir] }),
      { TOKEN: 't0k3n' },
      {
        db: null as never, // a systemd target never reaches the database here
        exec,
        signal: new AbortController().signal,
        progress: async () => {},
      },
    );
    expect(fs.statSync(dropIn).mode & 0o777).toBe(0o600);
    expect(calls).toEqual([
      'systemctl daemon-reload --no-ask-password',
      'systemctl show --no-pager --property=MainPID,ActiveState,SubState,LoadState -- app.service',
      'systemctl restart --no-ask-password -- app.service',
      // two looks: the new main process, the same on both
      'systemctl show --no-pager --property=MainPID,ActiveState,SubState,LoadState -- app.service',
      'systemctl show --no-pager --property=MainPID,ActiveState,SubState,LoadState -- app.service',
    ]);
  });
});

describe('supervisor program file and release names (unit tests)', () => {
  it('quotes the command and environment the way supervisor reads them', () => {
    const text = supervisorProgram({
      program: 'app',
      command: ['/usr/bin/python3', 'app.py', 'two words', "it's"],
      directory: '/srv/app/current',
      env: { A: 'x,y=z 50%', B: 'say "hi" now' },
    });
    expect(text).toContain(`command=/usr/bin/python3 app.py 'two words' 'it'"'"'s'`);
    expect(text).toContain('directory=/srv/app/current');
    expect(text).toContain(`environment=A="x,y=z 50%%",B='say "hi" now'`);
  });

  it('refuses a value supervisor cannot carry rather than writing a wrong one', () => {
    const write = (v: string) => () =>
      supervisorProgram({ program: 'app', command: ['app'], directory: '/', env: { V: v } });
    expect(write(`both " and '`)).toThrow(UnwritableEnvError);
    expect(write('"starts with a quote')).toThrow(/V cannot be written/);
  });

  it('names releases by UTC time and sha, and never prunes the current or previous release', async () => {
    expect(releaseName(new Date('2026-11-23T02:15:09.123Z'), 'abcdef0123456789')).toBe('20261123021509-abcdef0');
    const dir = scratchDir('prune');
    const names = [
      '20260101000000-aaaaaaa',
      '20260102000000-bbbbbbb',
      '20260103000000-ccccccc',
      '20260104000000-ddddddd',
    ];
    for (const n of [...names, 'not-a-release']) fs.mkdirSync(path.join(dir, n));
    const layout = { releasesDir: dir, current: path.join(dir, '..', 'current'), gitDir: '', managedPaths: [] };
    expect(await releasesToPrune(layout, 2, [names[3]!, names[2]!])).toEqual([names[0], names[1]]);
    expect(await releasesToPrune(layout, 2, [names[3]!, names[0]!])).toEqual([names[1]]);
  });

  it('accepts branches, tags and shas as refs, and nothing git could read as an option or a range', () => {
    for (const ok of ['main', 'release/1.2', 'v2.0.1', 'a1b2c3d']) expect(gitRef.safeParse(ok).success).toBe(true);
    for (const bad of ['--upload-pack=touch /tmp/x', '-b', 'a..b', 'a//b', 'a b', 'main.', 'x/', '']) {
      expect(gitRef.safeParse(bad).success, bad).toBe(false);
    }
  });
});
