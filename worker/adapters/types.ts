import type { JobContext } from '../../jobs/lib/kind.ts';

export interface ServiceState {
  running: boolean;
  /** The main (master) process. */
  pid: number | null;
  /** Worker processes under the master, when the manager has them (gunicorn, nginx). */
  workerPids: number[];
  detail: string;
}

/** How Deckhand talks to one service manager (DESIGN §1: systemd, supervisor, signal, self). */
export interface ServiceAdapter {
  /** The target's manager, for messages: `systemd`, `supervisor` or `signal`. */
  readonly manager: string;
  state(): Promise<ServiceState>;
  /** `restart` replaces the process; `reload` asks it to re-read its configuration in place. */
  apply(mode: 'restart' | 'reload'): Promise<void>;
  /** Starts a stopped service (a first deploy); absent where Deckhand cannot start it (a pidfile). */
  start?(): Promise<void>;
  /** Asks the service to stop; the caller verifies that no process of it is left. */
  stop(): Promise<void>;
}

export class ServiceNotRunningError extends Error {
  override name = 'ServiceNotRunningError';
}

export type Exec = JobContext['exec'];
