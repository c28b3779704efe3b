/**
 * What workers publish to host_status and target_status (DESIGN §9), and the thresholds the
 * pages colour it by. Shared by the worker that writes these rows and the web tier that reads them.
 */

/** One real filesystem, as statfs sees it (df's numbers: used of used + available to users). */
export interface MountFigures {
  mount: string;
  fstype: string;
  sizeBytes: number;
  usedBytes: number;
  availableBytes: number;
  usedPct: number;
}

export interface HostFigures {
  mounts: MountFigures[];
  memory: { totalBytes: number; availableBytes: number } | null;
  load: [number, number, number];
  uptimeSec: number;
  cpus: number;
  /** Failed systemd units; null where systemd is not PID 1. */
  failedUnits: number | null;
  systemd: boolean;
}

export interface TargetStatus {
  running: boolean;
  pid: number | null;
  /** When the main process started (ISO), from /proc. */
  startedAt: string | null;
  detail: string;
  /** Whole days until the certificate at tls.certPath expires (negative: expired); null without one. */
  certDaysLeft: number | null;
  /** When that certificate expires (ISO); absent in samples published before it was recorded. */
  certExpiresAt?: string | null;
  certError: string | null;
  /** The last process seen running, kept across stopped samples, to tell a restart from a first start. */
  lastSeen: { pid: number; startedAt: string | null; at: string } | null;
}

export const DISK_WARN_PCT = 85;
export const DISK_ALERT_PCT = 95;
export const CERT_WARN_DAYS = 14;

/** A published row older than this many intervals means no worker is serving its host. */
export const STALE_INTERVALS = 3;
/**
 * ...but never sooner than this: a sample spawns a supervisorctl or systemctl per target, and on a
 * loaded host one can take seconds. A short interval must not make the host card flap to
 * "no worker is serving this host" (and every target to unknown) while its worker is busy.
 */
export const STALE_FLOOR_MS = 10_000;

/** How old a host's last published status may be before no worker counts as serving it. */
export const staleAfterMs = (intervalMs: number) => Math.max(STALE_INTERVALS * intervalMs, STALE_FLOOR_MS);
