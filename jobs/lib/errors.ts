export { UnrecoverableError } from 'bullmq';

/** Input that does not satisfy a job kind's contract; surfaces as HTTP 400. */
export class JobValidationError extends Error {
  override name = 'JobValidationError';
  constructor(
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

/** The job was cancelled by a user while it ran. */
export class JobCancelledError extends Error {
  override name = 'JobCancelledError';
}

/** The job ran past its time limit. */
export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
}

/** The worker is shutting down and the job did not finish within the grace period. */
export class WorkerShutdownError extends Error {
  override name = 'WorkerShutdownError';
}

/** A subprocess exited unsuccessfully. */
export class ProcessFailedError extends Error {
  override name = 'ProcessFailedError';
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: string | null,
  ) {
    super(message);
  }
}

/** The request is valid but clashes with the current state, e.g. a rollback past a migration; HTTP 409. */
export class JobConflictError extends Error {
  override name = 'JobConflictError';
  constructor(
    message: string,
    readonly code: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}
