import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unreachableByPostgres } from '../config.ts';
import { assertReachableByPostgresUser, connectionFile, DataDirError } from '../db/embedded.ts';
import { eventually, processAlive } from './support/app.ts';
import { stopChild } from './support/process.ts';
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
  let pgPort: number;
  let proc: ChildProcess;
  let stdout = '';
  const env = () => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DECKHAND_DATA_DIR: dataDir,
    DECKHAND_PORT: String(port),
    DECKHAND_EMBEDDED_PG_PORT: String(pgPort),
    LOG_LEVEL: 'info',
  });
  const url = (p: string) => `http://127.0.0.1:${port}${p}`;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync('/tmp/deckhand-e2e-');
    fs.chmodSync(dataDir, 0o755); // the postgres user must reach it when we run as root
    port = await freePort();
    pgPort = await freePort();
    proc = spawn(process.execPath, ['dist/server/start.js'], {
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

  it('runs the embedded PostgreSQL on DECKHAND_EMBEDDED_PG_PORT', () => {
    expect(JSON.parse(fs.readFileSync(connectionFile(dataDir), 'utf8')).port).toBe(pgPort);
    const postmaster = fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n');
    expect(Number(postmaster[3])).toBe(pgPort);
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
    const workers = () => childrenOf(proc.pid!).filter((p) => cmdline(p).includes('dist/worker/main.js'));
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

/** This checkout's tracked and new files (node_modules linked), as a clone would lay them out, in `dest`. */
async function copyOfCheckout(dest: string) {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root });
  for (const f of stdout.split('\0').filter((f) => f && fs.existsSync(path.join(root, f)))) {
    fs.mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
    fs.copyFileSync(path.join(root, f), path.join(dest, f));
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dest, 'node_modules'));
}

describe('npm start as root from a checkout in a 0700 directory (/root/deckhand, mktemp -d)', () => {
  let privateDir: string;
  let checkout: string;
  let stateDir: string;
  let proc: ChildProcess | undefined;
  let stdout = '';
  let port: number;

  beforeAll(async () => {
    privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-root-')); // mode 0700, like /root
    checkout = path.join(privateDir, 'deckhand');
    await copyOfCheckout(checkout);
    await run(process.execPath, ['build/app.mjs'], { cwd: checkout }); // what npm start's prestart does
    // Stands in for /var/lib/deckhand, which a test must not take over: systemd's $STATE_DIRECTORY comes first.
    stateDir = fs.mkdtempSync('/tmp/deckhand-state-');
    fs.chmodSync(stateDir, 0o755);
  }, 60_000);
  afterAll(async () => {
    if (proc) await stopChild(proc, 'SIGKILL');
    fs.rmSync(privateDir, { recursive: true, force: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('without DECKHAND_DATA_DIR, keeps its data where the postgres user can reach it, and says so first', async () => {
    expect(process.getuid?.()).toBe(0); // the case at hand: as root, PostgreSQL runs as "postgres"
    expect(unreachableByPostgres(path.join(checkout, 'var'))).toBe(privateDir);
    port = await freePort();
    proc = spawn(process.execPath, ['dist/server/start.js'], {
      cwd: checkout,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        STATE_DIRECTORY: stateDir,
        DECKHAND_PORT: String(port),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d) => {
      stdout += d;
    });
    let stderr = '';
    proc.stderr!.on('data', (d) => {
      stderr += d;
    });
    await eventually(
      async () => {
        if (proc!.exitCode !== null) throw new Error(`npm start exited ${proc!.exitCode}: ${stderr}${stdout}`);
        return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok;
      },
      90_000,
      'Deckhand to be ready',
    );
    const first = JSON.parse(stdout.split('\n')[0]!);
    expect(first.msg).toContain(`data directory ${stateDir}, not ./var`);
    expect(first.msg).toContain(`cannot enter ${privateDir}`);
    expect(fs.existsSync(path.join(stateDir, 'pg', 'PG_VERSION'))).toBe(true);
    expect(fs.existsSync(path.join(stateDir, 'initial-admin-password'))).toBe(true);
    expect(fs.existsSync(path.join(checkout, 'var'))).toBe(false);
    const exited = new Promise((r) => proc!.once('exit', r));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);

  it('an explicit DECKHAND_DATA_DIR out of reach still stops with the message that says what to do', async () => {
    const failure = await run(process.execPath, ['dist/server/start.js'], {
      cwd: checkout,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DECKHAND_DATA_DIR: path.join(checkout, 'var') },
    }).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/cannot enter .*deckhand-root-.*DECKHAND_DATA_DIR.*DATABASE_URL/);
  }, 60_000);
});
