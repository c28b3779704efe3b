import type { z } from 'zod';

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
}

export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
}

/** What a running handler may do. The runner owns leases, cancel and persistence. */
export interface JobContext {
  readonly jobId: string;
  readonly attempt: number;
  /** Aborted when a user cancels, the worker shuts down, or the lease is lost. */
  readonly signal: AbortSignal;
  progress(percent: number, step?: string | null): Promise<void>;
  output(stream: 'stdout' | 'stderr', text: string): void;
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
}

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
  run(ctx: JobContext, req: Req, env: KindEnv): Promise<unknown>;
}

export function defineKind<Req>(kind: JobKind<Req>): JobKind<Req> {
  return kind;
}
