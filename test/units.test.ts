import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';

const run = promisify(execFile);
const deploy = path.resolve(import.meta.dirname, '../deploy');
const webUnit = path.join(deploy, 'deckhand-web.service');
const workerUnit = path.join(deploy, 'deckhand-worker@.service');

/** `systemd-analyze security --offline=yes`: the unit's overall exposure (0 safe … 10 unsafe). */
async function exposure(unit: string): Promise<number> {
  const { stdout } = await run('systemd-analyze', ['security', '--offline=yes', '--no-pager', unit]);
  const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(stdout);
  if (!m) throw new Error(`no exposure level in:\n${stdout}`);
  return Number(m[1]);
}

/** The values of `key=` in a unit file, in order (one setting may be given on several lines). */
function settings(unit: string, key: string): string[] {
  return fs
    .readFileSync(unit, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

describe('the shipped systemd unit files (deploy/*.service)', () => {
  it('rate the web tier at exposure 2.5 or less: it needs no host access at all', async () => {
    expect(await exposure(webUnit)).toBeLessThanOrEqual(2.5);
  });

  it('rate the worker at exposure 5.0 or less', async () => {
    expect(await exposure(workerUnit)).toBeLessThanOrEqual(5.0);
  });

  it('pass systemd-analyze verify without a warning', async () => {
    for (const unit of [webUnit, workerUnit]) {
      const { stdout, stderr } = await run('systemd-analyze', ['verify', unit]);
      expect(`${stdout}${stderr}`, unit).toBe('');
    }
  });

  it('keep what Node and the worker need: JIT memory, the managed paths, the state directory', () => {
    for (const unit of [webUnit, workerUnit]) {
      expect(settings(unit, 'MemoryDenyWriteExecute'), unit).toEqual([]); // V8's JIT
      expect(settings(unit, 'StateDirectory'), unit).toEqual(['deckhand']);
      expect(settings(unit, 'Environment'), unit).toContain('DECKHAND_DATA_DIR=/var/lib/deckhand');
    }
    const writable = settings(workerUnit, 'ReadWritePaths').flatMap((v) => v.split(/\s+/));
    for (const p of loadConfig({}).DECKHAND_MANAGED_PATHS) expect(writable).toContain(`-${p}`);
    expect(settings(webUnit, 'ReadWritePaths')).toEqual([]);
  });

  it('let the web supervisor find `current` again at each fork: PWD names the working directory', () => {
    const [dir] = settings(webUnit, 'WorkingDirectory');
    expect(dir).toBe('/opt/deckhand/current');
    expect(settings(webUnit, 'Environment')).toContain(`PWD=${dir}`);
  });
});

type Decision = 'yes' | 'not_handled';

/** Evaluates deploy/polkit/50-deckhand.rules as polkitd would, for one request. */
function polkitDecision(user: string, id: string, details: Record<string, string> = {}): Decision {
  const rules: ((action: unknown, subject: unknown) => Decision)[] = [];
  const polkit = { Result: { YES: 'yes', NOT_HANDLED: 'not_handled' }, addRule: (f: never) => rules.push(f) };
  vm.runInNewContext(fs.readFileSync(path.join(deploy, 'polkit/50-deckhand.rules'), 'utf8'), { polkit });
  const action = { id, lookup: (k: string) => details[k] };
  for (const rule of rules) {
    const r = rule(action, { user });
    if (r !== 'not_handled') return r;
  }
  return 'not_handled';
}

describe('the polkit rule (deploy/polkit/50-deckhand.rules)', () => {
  const manage = 'org.freedesktop.systemd1.manage-units';

  it('lets the deckhand user restart and reload the units it lists', () => {
    for (const verb of ['restart', 'reload', 'start']) {
      expect(polkitDecision('deckhand', manage, { unit: 'nginx.service', verb })).toBe('yes');
    }
    expect(polkitDecision('deckhand', 'org.freedesktop.systemd1.reload-daemon')).toBe('yes');
  });

  it('grants nothing else: other units, other users, other actions', () => {
    expect(polkitDecision('deckhand', manage, { unit: 'ssh.service', verb: 'stop' })).toBe('not_handled');
    expect(polkitDecision('deckhand', manage, { unit: 'nginx.service', verb: 'kill' })).toBe('not_handled');
    expect(polkitDecision('shop', manage, { unit: 'nginx.service', verb: 'restart' })).toBe('not_handled');
    expect(polkitDecision('deckhand', 'org.freedesktop.systemd1.manage-unit-files')).toBe('not_handled');
    expect(polkitDecision('deckhand', 'org.freedesktop.login1.reboot')).toBe('not_handled');
  });
});

describe('the logrotate file (deploy/logrotate.d/deckhand)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-logrotate-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('covers every log file the units write', () => {
    const text = fs.readFileSync(path.join(deploy, 'logrotate.d/deckhand'), 'utf8');
    const glob = text
      .split('\n')
      .find((l) => l.startsWith('/'))
      ?.split(/\s/)[0];
    expect(glob).toBe('/var/log/deckhand/*.log');
    const files = [webUnit, workerUnit].flatMap((u) => settings(u, 'StandardOutput'));
    expect(files).toHaveLength(2);
    for (const f of files) {
      expect(f).toMatch(/^append:\/var\/log\/deckhand\/[^/]+\.log$/);
      expect(path.dirname(f.slice('append:'.length))).toBe(path.dirname(glob!));
    }
  });

  it('rotates in place: the live file is copied and truncated, as systemd keeps it open', async () => {
    // The shipped file, pointed at a scratch directory and at root (the deckhand user need not exist here).
    const conf = fs
      .readFileSync(path.join(deploy, 'logrotate.d/deckhand'), 'utf8')
      .replaceAll('/var/log/deckhand', dir)
      .replaceAll('deckhand deckhand', 'root root');
    fs.writeFileSync(path.join(dir, 'logrotate.conf'), conf);
    const log = path.join(dir, 'web.log');
    fs.writeFileSync(log, '{"msg":"one line"}\n');
    const held = fs.openSync(log, 'a');
    try {
      const { stderr } = await run('logrotate', [
        '-f',
        '-s',
        path.join(dir, 'state'),
        path.join(dir, 'logrotate.conf'),
      ]);
      expect(stderr).toBe('');
      expect(fs.readFileSync(`${log}.1`, 'utf8')).toBe('{"msg":"one line"}\n');
      fs.writeSync(held, '{"msg":"after"}\n');
      expect(fs.readFileSync(log, 'utf8')).toBe('{"msg":"after"}\n');
    } finally {
      fs.closeSync(held);
    }
  });
});
