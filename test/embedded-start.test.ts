import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertReachableByPostgresUser, DataDirError } from '../db/embedded.ts';
import { eventually, processAlive } from './support/app.ts';
import { freePort } from './support/redis.ts';

const root = path.resolve(import.meta.dirname, '..');
const run = promisify(execFile);

/** Child pids of `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

const cmdline = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
};

describe('npm start with the embedded default (real embedded PostgreSQL, BullMQ on it)', () => {
  let dataDir: string;
  let port: number;
  let proc: ChildProcess;
  let stdout = '';
  const env = () => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DECKHAND_DATA_DIR: dataDir,
    DECKHAND_PORT: String(port),
    LOG_LEVEL: 'info',
  });
  const url = (p: string) => `http://127.0.0.1:${port}${p}`;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync('/tmp/deckhand-e2e-');
    fs.chmodSync(dataDir, 0o755); // the postgres user must reach it when we run as root
    port = await freePort();
    proc = spawn(process.execPath, ['--import', 'tsx', 'server/start.ts'], {
      cwd: root,
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d) => {
      stdout += d;
    });
    proc.stderr!.resume();
    await eventually(async () => (await fetch(url('/readyz')).catch(() => null))?.ok, 45_000, 'Deckhand to be ready');
  });
  afterAll(async () => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints a one-time admin password and writes it 0600 under the data directory', async () => {
    const file = path.join(dataDir, 'initial-admin-password');
    const password = fs.readFileSync(file, 'utf8').trim();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(stdout).toContain(`one-time password ${password}`);
    const ready = await (await fetch(url('/readyz'))).json();
    expect(ready).toMatchObject({ ok: true, backend: 'postgres' });
  });

  it('lets the CLI create a token against the running embedded database, and runs a job with it', async () => {
    const { stdout: token } = await run(
      process.execPath,
      ['server/cli/deckhand.mjs', 'token', 'create', '--user', 'admin'],
      { cwd: root, env: env() },
    );
    const auth = { Authorization: `Bearer ${token.trim()}`, 'Content-Type': 'application/json' };
    const res = await fetch(url('/api/jobs'), {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ kind: 'script', script: 'disk-usage', params: { path: '/tmp' } }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const job = await eventually(
      async () => {
        const j = (await (await fetch(url(`/api/jobs/${id}`), { headers: auth })).json()) as { status: string };
        return ['succeeded', 'failed'].includes(j.status) ? j : null;
      },
      30_000,
      'the job to finish',
    );
    expect(job).toMatchObject({ status: 'succeeded', progress: 100 });
  });

  it('restarts a worker process that crashes', async () => {
    const workers = () => childrenOf(proc.pid!).filter((p) => cmdline(p).includes('worker/main.ts'));
    const before = workers();
    expect(before).toHaveLength(2);
    process.kill(before[0]!, 'SIGKILL');
    await eventually(
      async () => {
        const now = workers();
        return now.length === 2 && !now.includes(before[0]!);
      },
      20_000,
      'a replacement worker',
    );
  });

  it('stops everything on SIGTERM: web, workers and PostgreSQL exit, nothing is left running', async () => {
    const children = childrenOf(proc.pid!);
    const postgres = fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0];
    expect(children.length).toBeGreaterThanOrEqual(3);
    const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of [...children, Number(postgres)]) expect(processAlive(pid), cmdline(pid)).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  });
});

describe('embedded PostgreSQL data directory checks', () => {
  it('names DECKHAND_DATA_DIR when, running as root, the postgres user cannot reach the directory', () => {
    const privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-private-')); // mode 0700
    try {
      const check = () => assertReachableByPostgresUser(path.join(privateDir, 'var'), 0);
      expect(check).toThrow(DataDirError);
      expect(check).toThrow(/cannot enter .*deckhand-private-.*DECKHAND_DATA_DIR.*DATABASE_URL/);
      expect(() => assertReachableByPostgresUser('/tmp/deckhand/var', 0)).not.toThrow();
    } finally {
      fs.rmSync(privateDir, { recursive: true });
    }
  });
});
