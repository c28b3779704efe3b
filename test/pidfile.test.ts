import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetSpec } from '../jobs/lib/targets.ts';
import { probeTarget } from '../worker/status/target-probe.ts';
import { api, type Harness, harness, processAlive, type TestUser, waitForStatus } from './support/app.ts';
import { stopChild } from './support/process.ts';
import { type Gunicorn, makeCert, scratchDir, startGunicorn } from './support/services.ts';

/**
 * Signal targets against real processes: whatever PID a pidfile names, Deckhand
 * signals it only if it is the declared program and none of Deckhand's own.
 * Refusal cases use SIGWINCH (ignored by default), so a signal that did get through
 * shows as a job that succeeded rather than as a dead test process.
 */
describe('signal targets check the process a pidfile names', () => {
  let h: Harness;
  let admin: TestUser;
  let op: TestUser;
  let dir: string;
  let gunicorn: Gunicorn;
  const children: ChildProcess[] = [];

  /** A long-running child process of the test (not of Deckhand's worker). */
  async function startChild(file: string, args: string[]): Promise<number> {
    const child = spawn(file, args, { stdio: 'ignore', cwd: dir });
    children.push(child);
    await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
    return child.pid!;
  }

  /** Saves a signal target whose pidfile holds `content`, runs a reload of it, and returns the ended job. */
  async function reloadWith(name: string, content: string | null, extra: object = {}) {
    const pidfile = path.join(dir, `${name}.pid`);
    if (content !== null) fs.writeFileSync(pidfile, content);
    const spec = { manager: 'signal', pidfile, signal: 'SIGWINCH', match: gunicorn.match, ...extra };
    expect((await api(h, admin, 'PUT', `/api/targets/${name}`, spec)).status).toBe(201);
    const res = await api(h, op, 'POST', '/api/jobs', { kind: 'restart', target: name, mode: 'reload' });
    expect(res.status).toBe(202);
    return waitForStatus(h, op, res.json.id, ['succeeded', 'failed'], 45_000);
  }

  beforeAll(async () => {
    h = await harness();
    [admin, op] = await Promise.all([h.user('admin'), h.user('operator')]);
    await h.startWorker();
    dir = scratchDir('pidfile');
    gunicorn = await startGunicorn(dir, await makeCert(dir, 'web', ['localhost', '127.0.0.1']));
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => stopChild(c, 'SIGKILL')));
    await gunicorn?.stop();
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a pidfile naming PID 1', async () => {
    const job = await reloadWith('init', '1\n');
    expect(job.status).toBe('failed');
    expect(job.error).toBe(`pidfile ${dir}/init.pid names PID 1, which Deckhand never signals`);
  });

  it('refuses a pidfile naming the worker’s own process, or its parent', async () => {
    const self = await reloadWith('self-pid', `${process.pid}\n`, { match: { exe: process.execPath } });
    expect(self.status).toBe('failed');
    expect(self.error).toBe(
      `pidfile ${dir}/self-pid.pid names PID ${process.pid}, this Deckhand worker, which Deckhand never signals`,
    );
    const parent = await reloadWith('parent-pid', `${process.ppid}`, { match: { cmdline: '.' } });
    expect(parent.status).toBe('failed');
    expect(parent.error).toMatch(/names PID \d+, a parent of this Deckhand worker, which Deckhand never signals$/);
  });

  it('refuses a process that runs a Deckhand entry point', async () => {
    const pid = await startChild('/usr/bin/python3', ['-c', 'import time; time.sleep(300)', 'worker/main.ts']);
    const job = await reloadWith('lookalike', `${pid}`, { match: { cmdline: 'python3' } });
    expect(job.error).toBe(
      `pidfile ${dir}/lookalike.pid names PID ${pid}, a Deckhand process, which Deckhand never signals`,
    );
    expect(processAlive(pid)).toBe(true);
  });

  it('refuses a sleep process when gunicorn is declared, and the sleep lives on', async () => {
    const pid = await startChild('/usr/bin/sleep', ['300']);
    // SIGHUP, the signal's default: had it been sent, it would have ended the sleep.
    const job = await reloadWith('sleeper', `${pid}\n`, { signal: 'SIGHUP' });
    expect(job.status).toBe('failed');
    expect(job.error).toBe(
      `PID ${pid} (/usr/bin/sleep) does not match the target's declared executable ${gunicorn.match.exe}`,
    );
    expect(processAlive(pid)).toBe(true);
    const byCmdline = await reloadWith('sleeper2', `${pid}`, { signal: 'SIGHUP', match: { cmdline: 'gunicorn' } });
    expect(byCmdline.error).toBe(
      `PID ${pid} (/usr/bin/sleep) does not match the target's declared command line /gunicorn/`,
    );
    expect(processAlive(pid)).toBe(true);
  });

  it('refuses the right program under the wrong uid', async () => {
    const master = fs.readFileSync(gunicorn.pidfile, 'utf8').trim();
    const job = await reloadWith('wrong-uid', master, { match: { ...gunicorn.match, uid: 4242 } });
    expect(job.error).toMatch(
      new RegExp(
        `^PID ${master} \\(/usr/bin/python3[.\\d]*\\) runs as uid 0/0/0/0, not the target's declared uid 4242$`,
      ),
    );
  });

  it('refuses garbage, an oversized pidfile and a symlink planted as the pidfile', async () => {
    expect((await reloadWith('garbage', '12abc')).error).toBe(`pidfile ${dir}/garbage.pid does not hold a PID`);
    expect((await reloadWith('negative', '-1')).error).toBe(`pidfile ${dir}/negative.pid does not hold a PID`);
    expect((await reloadWith('zero', '0')).error).toBe(
      `pidfile ${dir}/zero.pid names PID 0, which Deckhand never signals`,
    );
    expect((await reloadWith('huge', `${'7'.repeat(100)}`)).error).toBe(
      `pidfile ${dir}/huge.pid is larger than 64 bytes`,
    );
    fs.symlinkSync(gunicorn.pidfile, path.join(dir, 'planted.pid'));
    expect((await reloadWith('planted', null)).error).toBe(
      `pidfile ${dir}/planted.pid is a symbolic link, which Deckhand never follows`,
    );
  });

  it('reports a refused PID as not running on the dashboard, with the reason', async () => {
    const pid = await startChild('/usr/bin/sleep', ['301']);
    fs.writeFileSync(path.join(dir, 'status.pid'), `${pid}`);
    const spec = targetSpec.parse({ manager: 'signal', pidfile: path.join(dir, 'status.pid'), match: gunicorn.match });
    expect(await probeTarget(spec, h.config.DECKHAND_MANAGED_PATHS)).toMatchObject({
      running: false,
      pid: null,
      detail: `PID ${pid} (/usr/bin/sleep) does not match the target's declared executable ${gunicorn.match.exe}`,
    });
    const ok = targetSpec.parse({ manager: 'signal', pidfile: gunicorn.pidfile, match: gunicorn.match });
    expect(await probeTarget(ok, h.config.DECKHAND_MANAGED_PATHS)).toMatchObject({
      running: true,
      pid: Number(fs.readFileSync(gunicorn.pidfile, 'utf8')),
    });
  });

  it('refuses to save a signal target that declares neither executable nor command line', async () => {
    for (const match of [undefined, {}, { uid: 0 }, { cmdline: '(' }, { exe: 'python3' }]) {
      const res = await api(h, admin, 'PUT', '/api/targets/undeclared', {
        manager: 'signal',
        pidfile: path.join(dir, 'x.pid'),
        ...(match === undefined ? {} : { match }),
      });
      expect(res.status, JSON.stringify(match)).toBe(400);
      expect(Object.keys(res.json.error.details.fieldErrors)).toEqual(['match']);
    }
  });
});
