import path from 'node:path';
import type { z } from 'zod';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { loadSecretBox, type SecretBox } from './secret-box.ts';

/** Oban-style retry policy, declared beside each handler. Backoff is exponential from `backoffMs`. */
export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
}

export interface ExecOptions {
  /** Kill the process group after this long and fail with JobTimeoutError. */
  timeoutMs: number;
  cwd?: string;
  env?: Record<string, string>;
  /** Keep the output out of the job's history (status queries whose answer is parsed, not shown). */
  quiet?: boolean;
  /** Run even if the job is being cancelled: for putting things back (a restore must not be cut short). */
  unstoppable?: boolean;
}

export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  /** What the process printed on stdout (the first 64 KiB), for commands whose answer is parsed. */
  stdout: string;
}

/** What a running handler (worker/kinds/) may do. The runner owns leases, cancel and persistence. */
export interface JobContext {
  readonly jobId: string;
  readonly attempt: number;
  /** Aborted when a user cancels, the worker shuts down, or the lease is lost. */
  readonly signal: AbortSignal;
  progress(percent: number, step?: string | null): Promise<void>;
  output(stream: 'stdout' | 'stderr', text: string): void;
  /** From now on, these values are written to the job's output as `[secret]` (values under 4 characters are not). */
  redact(values: readonly string[]): void;
  /**
   * Runs a program without a shell in its own process group, streaming its output
   * and its `::progress N step` lines. On abort: SIGTERM to the group, SIGKILL after
   * the grace period; it resolves only once the process has exited.
   */
  exec(file: string, args: readonly string[], opts: ExecOptions): Promise<ExecResult>;
}

/** Where a job's request is stored on the jobs row. */
export interface StoredRequest {
  target: string | null;
  script: string | null;
  params: Record<string, unknown>;
}

/** Live facts a kind checks a request against, both at enqueue time and again in the worker. */
export interface KindEnv {
  scriptsDir: string;
  db: Db;
  /** DECKHAND_MANAGED_PATHS: the only places target files may be. */
  managedPaths: readonly string[];
  secrets: SecretBox;
  /** DECKHAND_DATA_DIR, absolute: Deckhand's own state (e.g. its private git mirrors), never a target's. */
  stateDir: string;
  /**
   * In a worker: how Deckhand reaches its own database and queue (DATABASE_URL, REDIS_URL,
   * DECKHAND_QUEUE). A deploy of Deckhand itself hands them to its migrate step.
   */
  ownConnection?: Readonly<Record<string, string>>;
  /** Where email notifications go out (DECKHAND_SMTP_URL, a secret) and who they are from. */
  smtp: { url: string | null; from: string };
}

export function kindEnv(config: Config, db: Db): KindEnv {
  return {
    scriptsDir: config.DECKHAND_SCRIPTS_DIR,
    db,
    managedPaths: config.DECKHAND_MANAGED_PATHS,
    stateDir: path.resolve(config.DECKHAND_DATA_DIR),
    secrets: loadSecretBox(config.DECKHAND_SECRET_KEY, config.DECKHAND_DATA_DIR),
    smtp: { url: config.DECKHAND_SMTP_URL ?? null, from: config.DECKHAND_SMTP_FROM ?? `deckhand@${config.hostname}` },
  };
}

/**
 * A job kind's definition: what the web tier needs to check and store a request. The
 * worker's half, which runs it, is `worker/kinds/<name>.ts` (defineHandler).
 */
export interface JobKind<Req> {
  readonly name: string;
  readonly description: string;
  /** The request body's fields besides `kind` and `onBusy`. */
  readonly request: z.ZodType<Req>;
  readonly retry: RetryPolicy;
  /** Checks the request against live state; throws JobValidationError. Returns what is stored. */
  resolve(req: Req, env: KindEnv): Promise<StoredRequest>;
  /** Rebuilds the request from its stored row, so the worker can check it again. */
  fromStored(stored: StoredRequest): unknown;
  /** True when only admins may request this one (operators may request the rest); checked at enqueue and retry. */
  readonly adminOnly?: (stored: StoredRequest) => boolean;
}

export function defineKind<Req>(kind: JobKind<Req>): JobKind<Req> {
  return kind;
}
