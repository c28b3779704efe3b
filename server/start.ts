import { createLogger, loadConfig } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { type EmbeddedCluster, startEmbeddedPostgres } from '../db/embedded.ts';
import { armLifeline, type Lifeline } from '../db/embedded-lifeline.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { shippedKinds } from '../jobs/index.ts';
import { migrateQueueBackend } from '../jobs/lib/queue.ts';
import { ensureInitialAdmin } from './auth/accounts.ts';
import { keepRunning, stopDeadlineMs, stopWithParent } from './supervisor.ts';
import { startWebPrimary } from './web.ts';

/**
 * `npm start`: everything on one machine. Starts the embedded PostgreSQL unless
 * DATABASE_URL is set, migrates, creates the first admin, then runs the web
 * tier and DECKHAND_WORKERS worker processes, restarting any that crash. This
 * process is the web tier's primary itself (reconciler, reaper, notifier, the
 * listening socket): a web supervisor process of its own would cost ~75 MB for nothing.
 */
const config = loadConfig();
const log = createLogger(config.LOG_LEVEL, 'deckhand');
if (config.dataDirNote) log.info({ dataDir: config.DECKHAND_DATA_DIR }, config.dataDirNote);

let cluster: EmbeddedCluster | null = null;
let lifeline: Lifeline | null = null;
if (!config.DATABASE_URL) {
  // Armed before the cluster starts: from then on, however this process dies, the cluster goes with it.
  lifeline = armLifeline(config.DECKHAND_DATA_DIR);
  cluster = await startEmbeddedPostgres(config.DECKHAND_DATA_DIR, log, config.DECKHAND_EMBEDDED_PG_PORT);
}
const databaseUrl = config.DATABASE_URL ?? cluster!.url;

const database = connectDatabase(databaseUrl, 2);
await migrateDatabase(database.db);
await migrateQueueBackend({ name: config.DECKHAND_QUEUE, databaseUrl, redisUrl: config.REDIS_URL });
const password = await ensureInitialAdmin(database.db, config.DECKHAND_DATA_DIR);
await database.close();
if (password) {
  process.stdout.write(
    `\n  First start: sign in as "admin" with the one-time password ${password}\n` +
      `  (also written to ${config.DECKHAND_DATA_DIR}/initial-admin-password, mode 0600)\n\n`,
  );
}

// The data directory chosen here (secret key, initial password) is the children's too.
// One web process unless asked for more: on one machine a second costs ~100 MB for no gain (a rolling
// restart starts the new process before it retires the old one either way); see the README's footprint.
const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  DECKHAND_DATA_DIR: config.DECKHAND_DATA_DIR,
  DECKHAND_WEB_PROCESSES: process.env.DECKHAND_WEB_PROCESSES ?? '1',
  // Two malloc arenas for the workers (`npm start` sets it for this process and the lifeline too); glibc
  // reads it only when a process starts.
  MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
};
// Not for the web processes: there it saved little and seemed to cost polling CPU (README, footprint).
// cluster.fork lays this over process.env, and a variable set to undefined is left out of the child's.
const webEnv = { ...env, MALLOC_ARENA_MAX: undefined };
const workers = Array.from({ length: config.DECKHAND_WORKERS }, (_, i) =>
  keepRunning(`worker-${i + 1}`, 'worker/main', env, log),
);
const web = await startWebPrimary(
  shippedKinds,
  { ...config, DECKHAND_WEB_PROCESSES: Number(env.DECKHAND_WEB_PROCESSES) || config.DECKHAND_WEB_PROCESSES },
  databaseUrl,
  log,
  // The web processes run this file's sibling (dist/server/main.js), named as this one was (see release-dir.ts).
  { entry: process.argv[1]?.replace(/start(\.[jt]s)$/, 'main$1'), env: webEnv },
);
log.info({ workers: config.DECKHAND_WORKERS, backend: config.REDIS_URL ? 'redis' : 'postgres' }, 'Deckhand started');

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping Deckhand');
  await Promise.all([web.stop(), ...workers.map((p) => p.stop(stopDeadlineMs(config)))]);
  lifeline?.disarm();
  await cluster?.stop().catch((err) => log.warn({ err }, 'embedded PostgreSQL did not stop cleanly'));
  log.info('Deckhand stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
// A closed terminal sends SIGHUP to the whole process group: stop as cleanly as on SIGTERM, jobs included.
process.on('SIGHUP', () => void shutdown('SIGHUP'));
// `npm start` forwards SIGTERM/SIGINT only to a script that execs node; if npm (or whatever started
// this) dies without forwarding anything, stop as if signalled.
stopWithParent((why) => void shutdown(why));
