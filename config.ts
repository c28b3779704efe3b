import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { z } from 'zod';

/**
 * Deckhand's own directory (a checkout or a release): the code runs compiled from its dist/, or from the
 * sources through tsx in tests and development; its scripts and packages are beside dist/.
 */
export const APP_DIR =
  path.basename(import.meta.dirname) === 'dist' ? path.dirname(import.meta.dirname) : import.meta.dirname;

/**
 * V8 flags for every long-running Deckhand process (the units and `npm start` pass them too): a heap that
 * grows less before it collects. Measured under 200 polling browsers: a worker 115 → 87 MB, the web
 * process 135 → 101 MB, no more CPU (README, footprint). Not allowed in NODE_OPTIONS, hence argv.
 */
export const NODE_FLAGS = ['--optimize-for-size'];

/**
 * V8 flags of the web processes instead: with fifty requests in flight, the 1 MB young generation of
 * --optimize-for-size promoted short-lived objects and cost 2.2–2.6× the CPU per `POST /api/jobs`
 * (1.33–1.66 against 0.61–0.75 ms). A 4 MB semi-space keeps most of the memory saved: 113–115 MB
 * under polling, against 102 with --optimize-for-size and 140 with V8's defaults (README, pipeline).
 */
export const WEB_NODE_FLAGS = ['--max-semi-space-size=4'];

/** Web processes by default: on fewer than 4 cores a second one only competes with the workers and PostgreSQL. */
export const defaultWebProcesses = (cores: number) => (cores >= 4 ? 2 : 1);

function isIpOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = net.isIP(address);
  if (!family || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

/** Every setting Deckhand reads from its environment, parsed once and failing fast. */
const envSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Default ./var, except as root when the postgres user cannot reach it (see chooseDataDir). */
  DECKHAND_DATA_DIR: z.string().min(1).default('./var'),
  /** The embedded PostgreSQL's port on 127.0.0.1; unset: a free port at each start. */
  DECKHAND_EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  DECKHAND_HOST: z.string().min(1).default('127.0.0.1'),
  DECKHAND_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Web processes behind one listening socket; a restart replaces them one by one. */
  DECKHAND_WEB_PROCESSES: z.coerce
    .number()
    .int()
    .min(1)
    .max(32)
    .default(defaultWebProcesses(os.availableParallelism())),
  /**
   * PostgreSQL connections per web process, its listener included. Each is a backend of a few MB; 200
   * browsers polling a job kept all of 10 open for no gain (README, footprint).
   */
  DECKHAND_WEB_DB_CONNECTIONS: z.coerce.number().int().min(2).max(100).default(5),
  DECKHAND_WORKERS: z.coerce.number().int().min(0).max(64).default(2),
  DECKHAND_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(4),
  /** The shortest gap a schedule may leave between two runs: a cron firing more often is refused (400). */
  DECKHAND_SCHEDULE_MIN_INTERVAL_SEC: z.coerce.number().int().min(1).max(86_400).default(60),
  DECKHAND_QUEUE: z
    .string()
    .regex(/^[a-z0-9_-]{1,40}$/)
    .default('deckhand'),
  DECKHAND_SCRIPTS_DIR: z.string().min(1).default(path.join(APP_DIR, 'worker/scripts')),
  DECKHAND_LEASE_MS: z.coerce.number().int().min(1000).default(15_000),
  /** BullMQ's job lock; a dead worker's job is noticed as stalled after about this long. */
  DECKHAND_QUEUE_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
  DECKHAND_CANCEL_GRACE_MS: z.coerce.number().int().min(0).default(5_000),
  DECKHAND_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  DECKHAND_OUTPUT_CAP_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  DECKHAND_SESSION_IDLE_HOURS: z.coerce.number().positive().default(12),
  DECKHAND_SESSION_MAX_DAYS: z.coerce.number().positive().default(7),
  DECKHAND_SECURE_COOKIES: z.enum(['auto', 'always', 'never']).default('auto'),
  /** Reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For and -Proto are believed; none by default. */
  DECKHAND_TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().refine(isIpOrCidr, 'each entry must be an IP address or a CIDR such as 10.0.0.0/8'))),
  /** Where target files (certificates, pidfiles, configs) may live: absolute prefixes separated by ':'. */
  DECKHAND_MANAGED_PATHS: z
    .string()
    .default('/etc/nginx:/etc/ssl:/etc/deckhand:/etc/supervisor:/run:/var/run:/srv:/opt:/var/www')
    .transform((s) => s.split(':').filter(Boolean))
    .pipe(z.array(z.string().regex(/^\/[^\0]*$/, 'each managed path must be absolute')).min(1)),
  /** Where a target's log files may live (DESIGN §10): absolute prefixes separated by ':'. */
  DECKHAND_LOG_PATHS: z
    .string()
    .default('/var/log')
    .transform((s) => s.split(':').filter(Boolean))
    .pipe(z.array(z.string().regex(/^\/[^\0]*$/, 'each log path must be absolute')).min(1)),
  /** 32 bytes, base64: encrypts target secrets and private keys. Default: <DECKHAND_DATA_DIR>/secret.key, created 0600. */
  DECKHAND_SECRET_KEY: z
    .string()
    .regex(/^[A-Za-z0-9+/]{43}=$/, 'must be 32 bytes in base64')
    .optional(),
  /** Serve HTTPS with this certificate (chain) and key; a cert-reload of the `self` target swaps them in place. */
  DECKHAND_TLS_CERT: z
    .string()
    .regex(/^\/[^\0]*$/, 'must be an absolute path')
    .optional(),
  DECKHAND_TLS_KEY: z
    .string()
    .regex(/^\/[^\0]*$/, 'must be an absolute path')
    .optional(),
  /** The host this process serves (DESIGN §9): every live read and target names one. Default: the hostname. */
  DECKHAND_HOST_NAME: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/, 'a host name: letters, digits, ".", "-" or "_"')
    .default(os.hostname()),
  /** How often a worker publishes its host's figures and its targets' status to PostgreSQL. */
  DECKHAND_STATUS_INTERVAL_MS: z.coerce.number().int().min(200).max(600_000).default(5000),
  /** One pruning run (retention, DESIGN §12) per this period across all workers. */
  DECKHAND_PRUNE_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(6 * 3600_000),
  /**
   * The shortest audit retention an admin may set, in days (3 years by default). Lowering it is a
   * host-level choice on purpose: nobody shortens the audit trail from the web UI by accident.
   */
  DECKHAND_AUDIT_RETENTION_MIN_DAYS: z.coerce.number().int().min(1).max(36_500).default(1095),
  /** The SMTP server email notification channels send through, e.g. smtps://user:pass@mail.example.com:465. */
  DECKHAND_SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
  /** The From: address of notification mail; default deckhand@<hostname>. */
  DECKHAND_SMTP_FROM: z.email().optional(),
  /**
   * The first retry delay of a notification delivery, doubling each time over 8 attempts: the
   * default 1000 ms retries for 127 s in all, so a receiver down for a minute still gets it.
   */
  DECKHAND_NOTIFY_BACKOFF_MS: z.coerce.number().int().min(10).max(600_000).default(1000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof envSchema> & {
  hostname: string;
  /** Why DECKHAND_DATA_DIR is not ./var although nobody set it; `npm start` says so in its first log line. */
  dataDirNote: string | null;
};

/** Where Deckhand keeps its data as root when ./var is out of the postgres user's reach. */
export const ROOT_DATA_DIR = '/var/lib/deckhand';

/**
 * The first directory on the way to `dir` that the postgres user may not enter (no execute bit for
 * others), or null. As root, embedded PostgreSQL runs as that user, so it must reach its data
 * directory and its binaries.
 */
export function unreachableByPostgres(dir: string): string | null {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (fs.existsSync(d) && (fs.statSync(d).mode & 0o001) === 0) return d;
    if (d === path.dirname(d)) return null;
  }
}

/**
 * ./var by default; but as root with neither DECKHAND_DATA_DIR nor DATABASE_URL, a checkout in a 0700
 * directory (/root/deckhand, mktemp -d) is out of the postgres user's reach: then $STATE_DIRECTORY
 * (systemd's StateDirectory=) or /var/lib/deckhand.
 */
function chooseDataDir(env: NodeJS.ProcessEnv, uid: number | undefined): { dir: string; note: string | null } {
  const defaulted = uid === 0 && env.DECKHAND_DATA_DIR === undefined && !env.DATABASE_URL;
  const blocked = defaulted ? unreachableByPostgres('./var') : null;
  if (!blocked) return { dir: env.DECKHAND_DATA_DIR ?? './var', note: null };
  const dir = env.STATE_DIRECTORY?.split(':')[0] || ROOT_DATA_DIR;
  return {
    dir,
    note: `data directory ${dir}, not ./var: running as root, and the postgres user cannot enter ${blocked} (set DECKHAND_DATA_DIR to choose another)`,
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.()): Config {
  const dataDir = chooseDataDir(env, uid);
  const parsed = envSchema.safeParse({ ...env, DECKHAND_DATA_DIR: dataDir.dir });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
  }
  if (Boolean(parsed.data.DECKHAND_TLS_CERT) !== Boolean(parsed.data.DECKHAND_TLS_KEY)) {
    throw new ConfigError('invalid environment:\n  DECKHAND_TLS_CERT, DECKHAND_TLS_KEY: set both or neither');
  }
  return { ...parsed.data, hostname: os.hostname(), dataDirNote: dataDir.note };
}

/** Paths that may carry secrets; pino replaces them before anything is written. */
const redact = [
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'signingSecret',
  '*.signingSecret',
  'url',
  '*.url',
  'DECKHAND_SMTP_URL',
  '*.DECKHAND_SMTP_URL',
  'authorization',
  '*.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
];

export type Logger = pino.Logger;

export function createLogger(level: string, name: string): Logger {
  return pino({ level, name, redact: { paths: redact, censor: '[redacted]' } });
}
