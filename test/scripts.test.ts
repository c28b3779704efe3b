import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArgv, loadScript, validateParams } from '../jobs/lib/manifest.ts';
import { api, type Harness, harness, type TestUser, waitForStatus } from './support/app.ts';
import { stopChild } from './support/process.ts';
import { scratchDir } from './support/services.ts';

const shipped = path.resolve(import.meta.dirname, '../worker/scripts');
const MARKER = 'token=s3cr3t-in-argv';

let h: Harness;
let op: TestUser;
let dir: string;
let planted: ChildProcess;
beforeAll(async () => {
  h = await harness({ env: { DECKHAND_SCRIPTS_DIR: shipped } });
  op = await h.user('operator');
  await h.startWorker();
  dir = scratchDir('scripts');
  // Another program on the host, with a secret on its command line.
  planted = spawn('/usr/bin/python3', ['-c', 'import time; time.sleep(300)', `--${MARKER}`], { stdio: 'ignore' });
  await new Promise((resolve, reject) => planted.once('spawn', resolve).once('error', reject));
});
afterAll(async () => {
  if (planted) await stopChild(planted, 'SIGKILL');
  await h?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs a shipped script as a job, through the API and a worker; returns the ended job and its output. */
async function runScript(script: string, params: object) {
  const res = await api(h, op, 'POST', '/api/jobs', { kind: 'script', script, params });
  expect(res.status, res.text).toBe(202);
  const job = await waitForStatus(h, op, res.json.id, ['succeeded', 'failed'], 30_000);
  const out = await api(h, op, 'GET', `/api/jobs/${res.json.id}/output`);
  return { job, output: out.json.chunks.map((c: { text: string }) => c.text).join('') as string };
}

describe('service-status: one service, by its exact name, without command lines', () => {
  it.each(['e', 'slee', 'pyth'])('lists no other process for the partial name %j', async (service) => {
    const { job, output } = await runScript('service-status', { service });
    expect(job.status).toBe('failed'); // nothing of that exact name
    expect(output).toContain(`Processes named exactly ${service}`);
    expect(output).toContain('(none)');
    expect(output).not.toContain(MARKER);
    expect(output).not.toMatch(new RegExp(`\\b${planted.pid}\\b`));
  });

  it('shows a process of that exact name by pid, user and name only', async () => {
    const { job, output } = await runScript('service-status', { service: 'python3' });
    expect(job.status).toBe('succeeded');
    expect(output).toMatch(new RegExp(`^\\s*${planted.pid}\\s+root\\s+\\S+\\s+python3$`, 'm'));
    expect(output).not.toContain(MARKER);
    expect(output).not.toContain('time.sleep');
  });
});

describe('log-grep: a real search of an allow-listed log', () => {
  it.each([
    ['an empty pattern', { log: '/var/log/syslog', pattern: '' }, 'pattern'],
    ['a two-letter pattern', { log: '/var/log/syslog', pattern: 'ab' }, 'pattern'],
    ['the auth log', { log: '/var/log/auth.log', pattern: 'Accepted' }, 'log'],
    ['the login records', { log: '/var/log/btmp', pattern: 'root' }, 'log'],
    ['secure', { log: '/var/log/secure', pattern: 'Accepted' }, 'log'],
  ])('refuses %s with a 400 naming the parameter', async (_what, params, field) => {
    const res = await api(h, op, 'POST', '/api/jobs', { kind: 'script', script: 'log-grep', params });
    expect(res.status).toBe(400);
    expect(Object.keys(res.json.error.details.fieldErrors)).toEqual([field]);
  });

  it('reads a log that an admin added to its own copy of the manifest, and only the matching lines', async () => {
    const scripts = path.join(dir, 'scripts');
    fs.mkdirSync(scripts);
    fs.copyFileSync(path.join(shipped, 'log-grep.sh'), path.join(scripts, 'log-grep.sh'));
    fs.chmodSync(path.join(scripts, 'log-grep.sh'), 0o755);
    const log = path.join(dir, 'app.log');
    fs.writeFileSync(log, 'boot ok\nuser alice failed login\nservice up\nuser bob failed login\n');
    const manifest = JSON.parse(fs.readFileSync(path.join(shipped, 'log-grep.json'), 'utf8'));
    manifest.params.log.values.push(log);
    fs.writeFileSync(path.join(scripts, 'log-grep.json'), JSON.stringify(manifest));

    const script = await loadScript(scripts, 'log-grep');
    const argv = buildArgv(script.manifest, validateParams(script, { log, pattern: 'failed login' }));
    const { code, stdout } = await run(script.file, argv);
    expect(code).toBe(0);
    expect(stdout).toContain('2:user alice failed login\n4:user bob failed login\n');
    expect(stdout).not.toContain('boot ok');
    expect(stdout).toContain(`2 matching lines in ${log}`);

    // The script holds its own line too, whatever a manifest says.
    const short = await run(script.file, [`--log=${log}`, '--pattern=', '--lines=10']);
    expect([short.code, short.stderr]).toEqual([64, 'the pattern must be at least 3 characters\n']);
    const link = path.join(dir, 'linked.log');
    fs.symlinkSync(log, link);
    const linked = await run(script.file, [`--log=${link}`, '--pattern=failed', '--lines=10']);
    expect([linked.code, linked.stderr]).toEqual([66, `refusing ${link}: missing, or reached through a symlink\n`]);
  });
});

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { PATH: process.env.PATH ?? '' } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}
