import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Uint8Array; driverData: Buffer }>({
  dataType: () => 'bytea',
  toDriver: (v) => Buffer.from(v),
  fromDriver: (v) => new Uint8Array(v),
});

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  username: text('username').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  role: text('role', { enum: ['viewer', 'operator', 'admin'] }).notNull(),
  /** Set for the one-time initial password: until it is changed, sessions may only change it. */
  mustChangePassword: boolean('must_change_password').notNull().default(false),
  /** A disabled user cannot sign in, and its tokens are refused. */
  disabled: boolean('disabled').notNull().default(false),
  createdAt: tstz('created_at').notNull().defaultNow(),
});

/** Lucia-style sessions: the cookie holds `id.secret`; only SHA-256(secret) is stored. */
export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    secretHash: bytea('secret_hash').notNull(),
    csrfToken: text('csrf_token').notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
    lastActiveAt: tstz('last_active_at').notNull().defaultNow(),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

/** API bearer tokens, `dh_<id>.<secret>`, stored the same way as sessions. */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    secretHash: bytea('secret_hash').notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
    expiresAt: tstz('expires_at'),
    lastUsedAt: tstz('last_used_at'),
    /** Kept (not deleted) so that the list still shows who had which token. */
    revokedAt: tstz('revoked_at'),
  },
  (t) => [index('api_tokens_user_idx').on(t.userId)],
);

/**
 * Login attempts per account (`user:`) and per client address (`ip:`), shared by every web process.
 * An attempt is counted before its password is checked, so a burst cannot outrun the limit.
 */
export const loginThrottle = pgTable('login_throttle', {
  key: text('key').primaryKey(),
  failures: integer('failures').notNull(),
  windowStart: tstz('window_start').notNull(),
  /** Accounts only: no password from an unknown client is checked before this time. */
  nextAttemptAt: tstz('next_attempt_at'),
});

/**
 * Clients that signed in successfully (OWASP's device cookie): `id.secret` in a cookie, SHA-256 of
 * the secret here. A correct password from one skips the account's delay; it stops counting as
 * known after a few wrong passwords of its own.
 */
export const loginDevices = pgTable(
  'login_devices',
  {
    id: text('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    secretHash: bytea('secret_hash').notNull(),
    failures: integer('failures').notNull().default(0),
    createdAt: tstz('created_at').notNull().defaultNow(),
    lastUsedAt: tstz('last_used_at').notNull().defaultNow(),
  },
  (t) => [index('login_devices_user_idx').on(t.userId)],
);

export const jobs = pgTable(
  'jobs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Insertion order, for exact keyset pagination (timestamps tie and lose precision in JS). */
    num: bigserial('num', { mode: 'number' }).notNull().unique(),
    kind: text('kind').notNull(),
    target: text('target'),
    script: text('script'),
    params: jsonb('params').$type<Record<string, unknown>>().notNull().default({}),
    status: text('status').notNull().default('queued'),
    progress: integer('progress').notNull().default(0),
    step: text('step'),
    attempt: integer('attempt').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    requestedBy: uuid('requested_by')
      .notNull()
      .references(() => users.id),
    idempotencyKey: text('idempotency_key'),
    retryOf: uuid('retry_of'),
    createdAt: tstz('created_at').notNull().defaultNow(),
    startedAt: tstz('started_at'),
    finishedAt: tstz('finished_at'),
    result: jsonb('result'),
    error: text('error'),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: tstz('lease_expires_at'),
    pid: integer('pid'),
    cancelRequestedAt: tstz('cancel_requested_at'),
    lastSeq: integer('last_seq').notNull().default(0),
    /** An admin pinned it: pruning keeps its output (and the row) whatever its age. */
    pinned: boolean('pinned').notNull().default(false),
    /** When pruning deleted its output and progress events; its status events remain. */
    outputPrunedAt: tstz('output_pruned_at'),
  },
  (t) => [
    /*
     * The job list's keyset pages (`GET /api/jobs`, the dashboard) read the page's `num`s with an
     * index-only scan of one of these three, then fetch those rows: the trailing columns (INCLUDE in
     * effect; drizzle cannot say INCLUDE) let a second filter (status and kind, kind and target…) be
     * checked in the index, never in the table. Ascending on purpose: scanned backwards, an ascending
     * index yields `ORDER BY num DESC` (NULLS FIRST); drizzle's `.desc()` means DESC NULLS LAST, which
     * that ORDER BY cannot use (measured: PostgreSQL then sorted or walked the whole num index).
     */
    index('jobs_status_num_idx').on(t.status, t.num, t.kind, t.target),
    index('jobs_kind_num_idx').on(t.kind, t.num, t.status, t.target),
    /**
     * A status and a kind together (`?status=lost&kind=config`): the status index alone checks every
     * job of that status for the kind, which grows with the history when the pair is rare. One more
     * index entry per job write; README, "Query plans as history grows".
     */
    index('jobs_status_kind_num_idx').on(t.status, t.kind, t.num, t.target),
    /** Also the latest jobs of one target (dashboard rows, unexpected-restart checks). */
    index('jobs_target_num_idx').on(t.target, t.num, t.kind, t.status).where(sql`target IS NOT NULL`),
    /** The deployments page of one target (a small partial index: deploys only). */
    index('jobs_deploys_idx').on(t.target, t.num).where(sql`kind = 'deploy'`),
    index('jobs_lease_idx').on(t.leaseExpiresAt).where(sql`status = 'active'`),
    /** Pruning's two scans, oldest first: whole old jobs, and ended jobs whose output is still kept. */
    index('jobs_finished_idx').on(t.finishedAt).where(sql`finished_at IS NOT NULL`),
    index('jobs_output_kept_idx').on(t.finishedAt).where(sql`finished_at IS NOT NULL AND output_pruned_at IS NULL`),
    uniqueIndex('jobs_idempotency_idx').on(t.requestedBy, t.idempotencyKey),
  ],
);

/** The append-only history: state changes, progress and output, numbered per job. */
export const jobEvents = pgTable(
  'job_events',
  {
    jobId: uuid('job_id')
      .notNull()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    at: tstz('at').notNull().defaultNow(),
    type: text('type').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.seq] })],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: tstz('at').notNull().defaultNow(),
    actorId: uuid('actor_id'),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    subject: text('subject'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    /** The since/until filters, and pruning (oldest first). */
    index('audit_at_idx').on(t.at.desc()),
    /** The audit page's filters, newest first: a rare actor, action or subject is found without a scan. */
    index('audit_actor_id_idx').on(t.actor, t.id),
    index('audit_action_id_idx').on(t.action, t.id),
    index('audit_subject_id_idx').on(t.subject, t.id).where(sql`subject IS NOT NULL`),
  ],
);

export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
});

/** Services Deckhand may act on. `spec` is validated by jobs/lib/targets.ts; secrets are encrypted. */
export const targets = pgTable('targets', {
  name: text('name').primaryKey(),
  spec: jsonb('spec').$type<Record<string, unknown>>().notNull(),
  /** AES-256-GCM of the JSON of the target's environment secrets; null when it has none. */
  secretEnv: bytea('secret_env'),
  /** The host whose workers serve this target (DESIGN §9); null is the local host, DECKHAND_HOST_NAME. */
  host: text('host'),
  createdAt: tstz('created_at').notNull().defaultNow(),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
});

/** One lock per target, held by a job while it runs, whatever its kind. */
export const targetLocks = pgTable('target_locks', {
  target: text('target').primaryKey(),
  jobId: uuid('job_id')
    .notNull()
    .references(() => jobs.id, { onDelete: 'cascade' }),
  acquiredAt: tstz('acquired_at').notNull().defaultNow(),
});

/** Uploaded certificate bundles; the private key is stored encrypted. */
export const certificates = pgTable('certificates', {
  id: uuid('id').primaryKey().defaultRandom(),
  certPem: text('cert_pem').notNull(),
  keyEncrypted: bytea('key_encrypted').notNull(),
  fingerprint: text('fingerprint').notNull(),
  subject: text('subject').notNull(),
  names: jsonb('names').$type<string[]>().notNull(),
  notAfter: tstz('not_after').notNull(),
  uploadedBy: uuid('uploaded_by')
    .notNull()
    .references(() => users.id),
  createdAt: tstz('created_at').notNull().defaultNow(),
});

/**
 * One row per deploy job (a rollback is a deploy to an earlier release). The
 * worker moves `phase` along as the release is built, switched in and checked:
 * preparing → built → switched → live, or failed / rolled-back. A row left in
 * preparing or built by a lost job names a half-made release, never offered again.
 */
export const deployments = pgTable(
  'deployments',
  {
    jobId: uuid('job_id')
      .primaryKey()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    target: text('target').notNull(),
    ref: text('ref'),
    sha: text('sha'),
    /** The release directory's name under the target's releases directory. */
    release: text('release'),
    isRollback: boolean('is_rollback').notNull().default(false),
    /** What `current` pointed at before the switch. */
    previousRelease: text('previous_release'),
    phase: text('phase').notNull().default('preparing'),
    /** The migrate step ran: rolling back past this deploy leaves its schema changes in place. */
    migrated: boolean('migrated').notNull().default(false),
    rolledBackTo: text('rolled_back_to'),
    /** The release directory was removed by pruning. */
    pruned: boolean('pruned').notNull().default(false),
    createdAt: tstz('created_at').notNull().defaultNow(),
    finishedAt: tstz('finished_at'),
  },
  (t) => [
    index('deployments_target_idx').on(t.target, t.createdAt.desc()),
    /** The releases a target can roll back to (live once, directory kept): a handful, however long the history. */
    index('deployments_live_idx').on(t.target, t.createdAt.desc()).where(sql`phase = 'live' AND NOT pruned`),
    index('deployments_migrated_idx').on(t.target, t.createdAt).where(sql`migrated`),
  ],
);

/**
 * Live reads of a host (DESIGN §9), served by a worker on that host: the web tier inserts a
 * request and NOTIFYs `deckhand_host_request`; one worker of that host claims it, answers in
 * `reply` (or `error`) and NOTIFYs `deckhand_host_reply`. Rows live for seconds.
 */
export const hostRequests = pgTable(
  'host_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    host: text('host').notNull(),
    kind: text('kind').notNull(),
    params: jsonb('params').$type<Record<string, unknown>>().notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
    claimedBy: text('claimed_by'),
    answeredAt: tstz('answered_at'),
    reply: jsonb('reply'),
    error: jsonb('error').$type<{ code: string; message: string; details?: unknown }>(),
  },
  (t) => [index('host_requests_open_idx').on(t.host, t.createdAt).where(sql`claimed_by IS NULL`)],
);

/** A host's figures (disk, memory, load, uptime, failed units), written by its workers every few seconds. */
export const hostStatus = pgTable('host_status', {
  host: text('host').primaryKey(),
  figures: jsonb('figures').$type<Record<string, unknown>>().notNull(),
  worker: text('worker').notNull(),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
});

/** Each target's live status (running, pid, start time, certificate days left), written by a worker of its host. */
export const targetStatus = pgTable('target_status', {
  target: text('target').primaryKey(),
  host: text('host').notNull(),
  status: jsonb('status').$type<Record<string, unknown>>().notNull(),
  updatedAt: tstz('updated_at').notNull().defaultNow(),
});

/** A target's process changed (new PID or start time) with no Deckhand job behind it. */
export const targetRestarts = pgTable(
  'target_restarts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    target: text('target').notNull(),
    at: tstz('at').notNull().defaultNow(),
    oldPid: integer('old_pid'),
    newPid: integer('new_pid'),
    detail: text('detail').notNull(),
  },
  (t) => [index('target_restarts_target_at_idx').on(t.target, t.at.desc())],
);

/** Every version of a managed config file applied (or adopted) through Deckhand: who, when, why, the text and its diff. */
export const configVersions = pgTable(
  'config_versions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    target: text('target').notNull(),
    path: text('path').notNull(),
    version: integer('version').notNull(),
    text: text('text').notNull(),
    sha256: text('sha256').notNull(),
    comment: text('comment').notNull(),
    actorId: uuid('actor_id'),
    actor: text('actor').notNull(),
    jobId: uuid('job_id'),
    /** How it came to be: applied by a job, adopted from the file on disk (drift), or the first look. */
    origin: text('origin', { enum: ['applied', 'adopted', 'baseline'] }).notNull(),
    diff: text('diff').notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('config_versions_path_version_idx').on(t.target, t.path, t.version)],
);

/**
 * Where notifications go (admin-managed). A webhook's or Slack's URL and a webhook's signing secret
 * are sealed (AES-256-GCM, like a target's env secrets) in `sealed`; `settings` holds what may be shown.
 */
export const notificationChannels = pgTable('notification_channels', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull().unique(),
  type: text('type', { enum: ['webhook', 'slack', 'email'] }).notNull(),
  /** Not secret: the URL's masked form (scheme and host), an email channel's recipients. */
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
  sealed: bytea('sealed'),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: tstz('created_at').notNull().defaultNow(),
});

/** Events × targets/kinds → channel. Empty `targets`/`kinds` match all; deliveries are requested by `owner`. */
export const notificationRules = pgTable('notification_rules', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull().unique(),
  channelId: uuid('channel_id')
    .notNull()
    .references(() => notificationChannels.id, { onDelete: 'cascade' }),
  events: jsonb('events').$type<string[]>().notNull(),
  targets: jsonb('targets').$type<string[]>().notNull().default([]),
  kinds: jsonb('kinds').$type<string[]>().notNull().default([]),
  /** For `cert.expiring`: fire when a certificate has fewer days left than this. */
  certDays: integer('cert_days').notNull().default(14),
  enabled: boolean('enabled').notNull().default(true),
  owner: uuid('owner')
    .notNull()
    .references(() => users.id),
  createdAt: tstz('created_at').notNull().defaultNow(),
});

/** One row per delivery attempt of a `notify` job: the receiver's answer (HTTP status, SMTP reply) or the error. */
export const notificationDeliveries = pgTable(
  'notification_deliveries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    jobId: uuid('job_id')
      .notNull()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    channelId: uuid('channel_id').references(() => notificationChannels.id, { onDelete: 'set null' }),
    attempt: integer('attempt').notNull(),
    at: tstz('at').notNull().defaultNow(),
    ok: boolean('ok').notNull(),
    /** The HTTP status, or the SMTP reply code; null when nothing answered. */
    status: integer('status'),
    detail: text('detail'),
  },
  (t) => [
    index('notification_deliveries_job_idx').on(t.jobId),
    index('notification_deliveries_at_idx').on(t.at.desc()),
  ],
);

/**
 * A job request run on a cron schedule (DESIGN §11). BullMQ's job scheduler `schedule-<id>` fires a
 * tick at each occurrence; the worker that takes it creates the job, requested by the owner.
 */
export const schedules = pgTable(
  'schedules',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    cron: text('cron').notNull(),
    tz: text('tz').notNull(),
    /** The POST /api/jobs body, checked again (kind, script, target, role) at every tick. */
    job: jsonb('job').$type<Record<string, unknown>>().notNull(),
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    paused: boolean('paused').notNull().default(false),
    /** Why the last tick did not start its job (the owner lost the role, is disabled); null once one starts. */
    blocked: text('blocked'),
    /** The latest occurrence a tick has covered; an older or equal tick is a duplicate and runs nothing. */
    lastFireAt: tstz('last_fire_at'),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [index('schedules_owner_idx').on(t.ownerId)],
);

/** Each tick of a schedule: the job it started, or why it started none. */
export const scheduleRuns = pgTable(
  'schedule_runs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    scheduleId: uuid('schedule_id')
      .notNull()
      .references(() => schedules.id, { onDelete: 'cascade' }),
    /** The occurrence this tick stands for (BullMQ's scheduled time). */
    fireAt: tstz('fire_at').notNull(),
    at: tstz('at').notNull().defaultNow(),
    outcome: text('outcome', { enum: ['started', 'skipped', 'failed'] }).notNull(),
    /** The tick came after a later occurrence had passed (Deckhand was down): the one catch-up run. */
    catchUp: boolean('catch_up').notNull().default(false),
    jobId: uuid('job_id').references(() => jobs.id, { onDelete: 'set null' }),
    reason: text('reason'),
  },
  (t) => [index('schedule_runs_schedule_idx').on(t.scheduleId, t.id.desc())],
);
