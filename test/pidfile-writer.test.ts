import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkedPidfileProcess } from '../worker/adapters/pidfile.ts';
import { stopChild } from './support/process.ts';

/**
 * A pidfile that a service account can write (it owns the file or a directory above it) names
 * whatever that account likes. Matching the executable is not enough when the program is an
 * interpreter (gunicorn is python3): any root python3 would do. So such a pidfile may only name
 * a process of that account, unless the target declares a uid.
 */
const NOBODY = 65534;

describe('a pidfile a service account can write only names that account’s processes', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  async function start(argv: string[]): Promise<number> {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    children.push(child);
    await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
    return child.pid!;
  }
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-pidfile-writer-'));
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => stopChild(c, 'SIGKILL')));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a root process named in a pidfile under a directory the service account owns', async () => {
    const rootSleep = await start(['/usr/bin/sleep', '300']);
    const app = path.join(dir, 'app');
    const run = path.join(app, 'run');
    fs.mkdirSync(run, { recursive: true });
    const pidfile = path.join(run, 'app.pid');
    fs.writeFileSync(pidfile, `${rootSleep}\n`);
    const match = { exe: '/usr/bin/sleep' };
    // Only root could have written it: what it names is checked as before.
    expect((await checkedPidfileProcess(pidfile, match))?.pid).toBe(rootSleep);

    // The app's user owns a directory above (it could rename run/ and make its own).
    fs.chownSync(app, NOBODY, NOBODY);
    await expect(checkedPidfileProcess(pidfile, match)).rejects.toThrow(
      `pidfile ${pidfile} can be written by uid ${NOBODY}, but PID ${rootSleep} runs as uid 0/0/0/0`,
    );
    // A declared uid is the admin saying which user the process runs as: that is checked instead.
    expect((await checkedPidfileProcess(pidfile, { ...match, uid: 0 }))?.pid).toBe(rootSleep);

    // The account's own process is what its pidfile may name.
    const own = await start([
      'setpriv',
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      '/usr/bin/sleep',
      '300',
    ]);
    fs.writeFileSync(pidfile, `${own}\n`);
    let named = null;
    for (let i = 0; i < 100 && named === null; i++) {
      // setpriv execs sleep: wait until the pid runs the declared program.
      named = await checkedPidfileProcess(pidfile, match).catch(() => null);
      if (named === null) await new Promise((r) => setTimeout(r, 50));
    }
    expect(named?.pid).toBe(own);

    // A pidfile anyone may write names anything: refused unless a uid is declared.
    fs.chownSync(app, 0, 0);
    fs.writeFileSync(pidfile, `${rootSleep}\n`);
    fs.chmodSync(run, 0o777);
    await expect(checkedPidfileProcess(pidfile, match)).rejects.toThrow(
      `pidfile ${pidfile} can be written by anyone (${run} is writable by group or others)`,
    );
  });
});
