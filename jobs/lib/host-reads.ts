/**
 * The host seam's contract (DESIGN §9), shared by the web tier and the workers: the live reads a
 * worker answers for its own host. Each read names its kind; its params are checked again by the
 * worker before it touches anything. Actions are jobs, never reads.
 */
export const hostReadKinds = [
  'target-status',
  'host-figures',
  'log-page',
  'log-follow',
  'config-list',
  'config-file',
] as const;
export type HostReadKind = (typeof hostReadKinds)[number];

/** Default time the web tier waits for a worker's answer before it says no worker serves the host. */
export const HOST_READ_TIMEOUT_MS = 5000;

/**
 * What a worker answers instead of a reply: a stable code and the HTTP status the web tier
 * gives it (400 for a bad read, 404 for an unknown source or file). Never internals.
 */
export class HostReadError extends Error {
  override name = 'HostReadError';
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 413 | 422,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}
