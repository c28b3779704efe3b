import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Config, createLogger, loadConfig } from '../../config.ts';
import type { Role } from '../../db/users.ts';
import { kindEnv } from '../../jobs/lib/kind.ts';
import { createProducer, migrateQueueBackend, type Producer, type QueueSettings } from '../../jobs/lib/queue.ts';
import { createApp } from '../../server/app.ts';
import { createUser } from '../../server/auth/accounts.ts';
import { AuthCache } from '../../server/auth/cache.ts';
import { createSession } from '../../server/auth/sessions.ts';
import { createApiToken } from '../../server/auth/tokens.ts';
import { createHostClient, type HostClient } from '../../server/host-client.ts';
import type { HandlerRegistry } from '../../worker/kinds/handler.ts';
import { shippedHandlers } from '../../worker/kinds/index.ts';
import { startWorkerService, type WorkerService } from '../../worker/service.ts';
import { freshDatabase, redisUrl, type TestDatabase } from './db.ts';

export const fixtureScripts = path.resolve(import.meta.dirname, '../fixtures/scripts');
export type BackendName = 'redis' | 'postgres';

export interface Harness {
  config: Config;
  database: TestDatabase;
  queue: QueueSettings;
  producer: Producer;
  app: ReturnType<typeof createApp>;
  /** The kinds both tiers know; the worker runs them, the web tier uses their definitions. */
  registry: HandlerRegistry;
  /** The web tier's side of the host seam; the harness's workers answer for config.DECKHAND_HOST_NAME. */
  host: HostClient;
  /** The app's token and session cache: a test that changes users, sessions or tokens in SQL awaits `auth.settle()`. */
  auth: AuthCache;
  startWorker(): Promise<WorkerService>;
  user(role: Role, name?: string): Promise<TestUser>;
  close(): Promise<void>;
}

export interface TestUser {
  id: string;
  username: string;
  token: string;
  cookie: string;
  csrfToken: string;
}

export async function harness(
  opts: { backend?: BackendName; env?: Record<string, string>; registry?: HandlerRegistry; adminUrl?: string } = {},
): Promise<Harness> {
  const database = await freshDatabase(opts.adminUrl);
  const queueName = `t_${randomBytes(5).toString('hex')}`;
  const backend = opts.backend ?? 'redis';
  // Deckhand's own state (git mirrors) per harness, so test files never share a mirror. Created by
  // the first deploy only, so a harness that never deploys leaves nothing behind.
  const dataDir = path.join(os.tmpdir(), `deckhand-data-${randomBytes(6).toString('hex')}`);
  const config = loadConfig({
    DECKHAND_DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    ...(backend === 'redis' ? { REDIS_URL: redisUrl } : {}),
    DECKHAND_QUEUE: queueName,
    DECKHAND_SCRIPTS_DIR: fixtureScripts,
    DECKHAND_LEASE_MS: '3000',
    DECKHAND_CANCEL_GRACE_MS: '1000',
    DECKHAND_SHUTDOWN_GRACE_MS: '3000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DECKHAND_SECRET_KEY: randomBytes(32).toString('base64'),
    DECKHAND_MANAGED_PATHS: `${os.tmpdir()}:/etc/nginx:/etc/ssl`,
    // Pages show what workers published: a test sees a target's status within a second.
    DECKHAND_STATUS_INTERVAL_MS: '500',
    // Schedule tests fire each second; the default floor (60 s) has a test of its own.
    DECKHAND_SCHEDULE_MIN_INTERVAL_SEC: '1',
    ...opts.env,
  });
  const log = createLogger(config.LOG_LEVEL, 'test');
  const queue = { name: queueName, databaseUrl: database.url, redisUrl: config.REDIS_URL };
  await migrateQueueBackend(queue);
  const producer = await createProducer(queue);
  const registry = opts.registry ?? shippedHandlers;
  const host = createHostClient(database.db, log);
  const auth = new AuthCache(database.db, log);
  await auth.ready;
  const app = createApp({
    config,
    db: database.db,
    producer,
    registry,
    env: kindEnv(config, database.db),
    log,
    host,
    auth,
  });
  const workers: WorkerService[] = [];
  return {
    config,
    database,
    queue,
    producer,
    app,
    registry,
    host,
    auth,
    async startWorker() {
      const w = await startWorkerService(config, queue, database.db, registry, log, () => {});
      workers.push(w);
      return w;
    },
    async user(role, name = `${role}_${randomBytes(3).toString('hex')}`) {
      const u = await createUser(database.db, name, role, 'correct horse battery staple');
      const token = await createApiToken(database.db, u.id, null);
      const session = await createSession(database.db, u.id);
      return {
        id: u.id,
        username: name,
        token,
        cookie: `deckhand_session=${session.token}`,
        csrfToken: session.csrfToken,
      };
    },
    async close() {
      try {
        await Promise.all(workers.map((w) => w.close(1000)));
        await producer.close();
        await host.close();
        await auth.close();
        await database.drop();
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** JSON API call as a bearer-token client. */
export async function api(h: Harness, user: TestUser, method: string, url: string, body?: unknown, headers = {}) {
  const res = await h.app.request(url, {
    method,
    headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text, headers: res.headers };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

export async function waitForStatus(h: Harness, user: TestUser, id: string, statuses: string[], timeoutMs = 15_000) {
  return eventually(
    async () => {
      const r = await api(h, user, 'GET', `/api/jobs/${id}`);
      return statuses.includes(r.json?.status) ? r.json : null;
    },
    timeoutMs,
    `job ${id} to reach ${statuses.join('|')}`,
  );
}

/** True while the process runs; an exited process waiting to be reaped (a zombie) counts as gone. */
export function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A real worker process (dist/worker/main.js), as `npm start` or systemd runs it, on the harness's database and queue. */
export function spawnWorker(h: Harness, env: Record<string, string> = {}, logFd?: number): ChildProcess {
  return spawn(process.execPath, ['dist/worker/main.js'], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    stdio: logFd === undefined ? 'ignore' : ['ignore', logFd, logFd],
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: h.database.url,
      ...(h.queue.redisUrl ? { REDIS_URL: h.queue.redisUrl } : {}),
      DECKHAND_QUEUE: h.queue.name,
      DECKHAND_SCRIPTS_DIR: h.config.DECKHAND_SCRIPTS_DIR,
      DECKHAND_SECRET_KEY: h.config.DECKHAND_SECRET_KEY,
      DECKHAND_MANAGED_PATHS: h.config.DECKHAND_MANAGED_PATHS.join(':'),
      DECKHAND_DATA_DIR: h.config.DECKHAND_DATA_DIR,
      LOG_LEVEL: 'silent',
      ...env,
    },
  });
}

/**
 * The real web tier (`<appDir>/dist/server/main.js`: the node:cluster supervisor and two web processes) on
 * the harness's database and queue, logging into `logFile`. Started as deploy/deckhand-web.service
 * starts it: in `appDir` (a `current` symlink resolves once, as WorkingDirectory= does), with PWD naming
 * it and the entry relative to it.
 */
export function spawnWebTier(
  h: Harness,
  o: { appDir: string; port: number; logFile: string; env?: Record<string, string> },
): ChildProcess {
  const log = fs.openSync(o.logFile, 'a');
  return spawn(process.execPath, ['dist/server/main.js'], {
    cwd: o.appDir,
    stdio: ['ignore', log, log],
    env: {
      PATH: process.env.PATH,
      PWD: o.appDir,
      DATABASE_URL: h.database.url,
      ...(h.queue.redisUrl ? { REDIS_URL: h.queue.redisUrl } : {}),
      DECKHAND_QUEUE: h.queue.name,
      DECKHAND_PORT: String(o.port),
      DECKHAND_WEB_PROCESSES: '2',
      DECKHAND_SECRET_KEY: h.config.DECKHAND_SECRET_KEY,
      LOG_LEVEL: 'warn',
      ...o.env,
    },
  });
}
