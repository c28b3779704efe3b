import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { eventually, type Harness, harness } from './app.ts';
import { freePort, stopChild } from './process.ts';

export { freePort } from './process.ts';

/** Every postgres a test started and has not stopped yet, killed however the test process ends. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const version = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a))[0];
  if (!version) throw new Error(`no PostgreSQL server binaries under ${root}`);
  return path.join(root, version, 'bin');
}

/** PostgreSQL refuses to run as root, so as root it runs as the `postgres` user. */
function runAs(): { uid: number; gid: number } | Record<string, never> {
  if (process.getuid?.() !== 0) return {};
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root, but there is no postgres user to run PostgreSQL as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * A private PostgreSQL cluster (trust auth, in a temporary directory) that a test may stop and start
 * again on the same port, to see what an outage looks like. `destroy` stops it and removes the directory.
 */
export class PrivatePostgres {
  private proc: ChildProcess | null = null;
  private readonly dir: string;
  private readonly bin = binDir();
  private readonly user = runAs();

  constructor(readonly port: number) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-pg-'));
    if ('uid' in this.user) fs.chownSync(this.dir, this.user.uid, this.user.gid);
    execFileSync(
      path.join(this.bin, 'initdb'),
      ['-D', path.join(this.dir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync'],
      { ...this.user, stdio: 'ignore' },
    );
  }

  get url() {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<void> {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) return;
    const args = ['-D', path.join(this.dir, 'data'), '-p', String(this.port), '-k', this.dir];
    const settings = ['listen_addresses=127.0.0.1', 'fsync=off', 'max_connections=50'];
    const proc = spawn(path.join(this.bin, 'postgres'), [...args, ...settings.flatMap((s) => ['-c', s])], {
      ...this.user,
      stdio: 'ignore',
    });
    this.proc = proc;
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    await eventually(() => this.acceptsQueries(), 20_000, `postgres on ${this.port}`);
  }

  private async acceptsQueries(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 1000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** The outage: a fast shutdown (SIGINT), which ends every open connection with admin_shutdown. */
  async stop(): Promise<void> {
    if (this.proc) await stopChild(this.proc, 'SIGINT');
  }

  async destroy(): Promise<void> {
    try {
      await this.stop();
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

export interface HarnessOnPrivatePostgres {
  postgres: PrivatePostgres;
  h: Harness;
  /** Starts the cluster again if a test left it stopped (the harness drops its database), then removes it. */
  close(): Promise<void>;
}

/** A harness whose database lives on a private cluster that the test may stop and start. */
export async function harnessOnPrivatePostgres(
  opts: Parameters<typeof harness>[0] = {},
): Promise<HarnessOnPrivatePostgres> {
  const postgres = new PrivatePostgres(await freePort());
  await postgres.start();
  let h: Harness;
  try {
    h = await harness({ ...opts, adminUrl: postgres.url });
  } catch (err) {
    await postgres.destroy();
    throw err;
  }
  return {
    postgres,
    h,
    async close() {
      try {
        await postgres.start();
        await h.close();
      } finally {
        await postgres.destroy();
      }
    },
  };
}
