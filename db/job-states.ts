/**
 * Job states, documented in one place (DESIGN.md §2).
 *
 *   queued ──claim──▶ active ◀──▶ waiting   (for the target's lock; the step names the holder)
 *     │                 │ ├────▶ succeeded
 *     │                 │ ├────▶ failed      (no attempts left, or UnrecoverableError)
 *     │                 │ ├────▶ retrying ──▶ active (BullMQ re-delivers after backoff)
 *     │                 │ ├────▶ cancelled   (a user asked; the process group has exited)
 *     │                 │ └────▶ lost        (lease expired: the worker died mid-run)
 *     └──cancel──▶ cancelled
 *
 * A `waiting` job is held by a worker under a lease like an active one: it can be
 * cancelled, and it becomes `lost` if that worker dies.
 * The database row is the source of truth; BullMQ only carries job ids.
 */
export const jobStatuses = [
  'queued',
  'waiting',
  'active',
  'retrying',
  'succeeded',
  'failed',
  'cancelled',
  'lost',
] as const;

export type JobStatus = (typeof jobStatuses)[number];

export const terminalStatuses: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled', 'lost'];

/** States from which a worker may claim a job and start an attempt. */
export const claimableStatuses: readonly JobStatus[] = ['queued', 'retrying'];

export const isTerminal = (s: string): boolean => (terminalStatuses as readonly string[]).includes(s);
