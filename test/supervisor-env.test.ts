import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supervisorProgram, UnwritableEnvError } from '../jobs/lib/service-env.ts';
import { eventually } from './support/app.ts';
import { stopChild } from './support/process.ts';
import { scratchDir, supervisordConfig } from './support/services.ts';

const run = promisify(execFile);

/** Values a secret may well hold; supervisor must hand each to the program exactly as given. */
const CARRIED: Record<string, string> = {
  INTERPOLATION: 'a%(app)s b%(program_name)s',
  PERCENTS: '100% %% %s %',
  LIST_SYNTAX: 'x,y=z,',
  COMMENT_CHARS_GLUED: 'a;b#c',
  QUOTES: 'say "hi" now',
  APOSTROPHE: "it's",
};

/** Values supervisor's config parser would change whatever the quoting: refused before anything is written. */
const REFUSED: Record<string, string> = {
  HERE: 'x%(here)sy',
  SEMICOLON_COMMENT: 'pass ;word',
  HASH_COMMENT: 'pass #word',
  TAB_COMMENT: 'pass\t#word',
  SEPARATOR_COMMENT: 'pass\u001c;word',
};

describe('secrets in supervisor environment= (real supervisord)', () => {
  let dir: string;
  let config: string;
  let supervisord: ChildProcess;
  const ctl = async (...args: string[]) => (await run('supervisorctl', ['-c', config, ...args])).stdout.trim();

  beforeAll(async () => {
    dir = scratchDir('supervisor-env');
    const confD = path.join(dir, 'conf.d');
    fs.mkdirSync(confD);
    fs.writeFileSync(
      path.join(confD, 'app.conf'),
      supervisorProgram({ program: 'app', command: ['/bin/sleep', '300'], directory: dir, env: CARRIED }),
    );
    config = supervisordConfig(dir, ['[include]', `files = ${confD}/*.conf`]);
    supervisord = spawn('/usr/bin/supervisord', ['-c', config], { stdio: 'ignore' });
  });
  afterAll(async () => {
    if (supervisord) await stopChild(supervisord);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the program sees every value exactly as it was given, % and %( included', async () => {
    const pid = await eventually(
      async () => Number((await ctl('pid', 'app').catch(() => '0')) || 0) || null,
      15_000,
      'the supervised program',
    );
    const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const seen = Object.fromEntries(
      environ.filter((e) => e.includes('=')).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
    );
    for (const [name, value] of Object.entries(CARRIED)) expect(seen[name], name).toBe(value);
  });

  it('refuses, naming the variable, a value that supervisor would cut at a comment or fill with %(here)s', () => {
    for (const [name, value] of Object.entries(REFUSED)) {
      let err: unknown = null;
      try {
        supervisorProgram({ program: 'app', command: ['/bin/sleep', '1'], directory: dir, env: { [name]: value } });
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(UnwritableEnvError);
      expect((err as UnwritableEnvError).message).toContain(name);
      expect((err as UnwritableEnvError).field).toBe('env');
    }
  });

  it('refuses a command or release directory that supervisor would read differently, blaming that setting', () => {
    const attempt = (command: string[], directory: string) => () =>
      supervisorProgram({ program: 'app', command, directory, env: {} });
    expect(attempt(['/bin/echo', 'a ;b'], dir)).toThrow(expect.objectContaining({ field: 'deploy.command' }));
    expect(attempt(['/bin/echo'], '/srv/%(here)s')).toThrow(expect.objectContaining({ field: 'deploy.releasesDir' }));
  });
});
