/**
 * Plain data shapes the views take: routes build them from database rows, so views
 * import nothing from server/ or worker/.
 */
export type { HostFigures, MountFigures } from '../db/status-shapes.ts';

import type { HostFigures } from '../db/status-shapes.ts';

export interface HostCardView {
  host: string;
  /** The last published figures, or null when no worker ever published for this host. */
  figures: HostFigures | null;
  updatedAt: string | null;
  /** A worker published recently; otherwise the page says no worker is serving this host. */
  serving: boolean;
}

export interface TargetView {
  name: string;
  manager: string;
  host?: string | undefined;
  description?: string | undefined;
  tls?: { probe: string } | undefined;
  deploy?: { branch: string } | undefined;
  /** It declares config files: the row links to its Configs page. */
  configs?: boolean | undefined;
  lock: { jobId: string; kind: string } | null;
  lastJob: { id: string; kind: string; status: string } | null;
}

/** A target's published status; `known: false` when no worker has published it recently. */
export interface TargetStatusView {
  known: boolean;
  running: boolean;
  pid: number | null;
  startedAt: string | null;
  uptimeSec: number | null;
  detail: string;
  certDaysLeft: number | null;
  certError: string | null;
  /** Unexpected restarts (no Deckhand job behind them) in the last 24 h. */
  restarts24h: number;
}

export interface TargetRowView {
  t: TargetView;
  status: TargetStatusView;
}

export interface RestartView {
  at: string;
  oldPid: number | null;
  newPid: number | null;
  detail: string;
}

/** The target form's contents (views/target-form.tsx): fields named by the target's paths, and its rows. */
export interface TargetFormValues {
  fields: Record<string, string>;
  logs: { name: string; kind: 'file' | 'journal' | 'supervisor'; value: string }[];
  /** `set`: a value is stored under this name; it is never shown, and a blank value keeps it. */
  env: { name: string; value: string; set: boolean }[];
}

/** What the target form is for: a new target, an existing one, or a copy of one (its secrets kept server-side). */
export interface TargetFormMode {
  kind: 'create' | 'edit' | 'duplicate';
  /** The target whose stored secrets a blank env value keeps (edit: itself; duplicate: the original). */
  secretsFrom: string | null;
}
