import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { z } from 'zod';
import { targetSpec } from '../../jobs/lib/targets.ts';
import { adapterFor } from './index.ts';
import type { Exec, ServiceState } from './types.ts';

/** An Exec outside any job: no shell, a timeout, output kept for parsing only. */
const plainExec: Exec = (file, args, opts) =>
  new Promise((resolve) => {
    execFile(file, [...args], { timeout: opts.timeoutMs, maxBuffer: 1 << 20 }, (err, stdout) => {
      const code = err && typeof err.code === 'number' ? err.code : err ? 127 : 0;
      resolve({ exitCode: code, signal: err?.signal ?? null, stdout });
    });
  });

/** Seconds since `pid` started, from /proc (clock ticks of 100 Hz, as on every Linux distro kernel). */
async function uptimeOf(pid: number): Promise<number | null> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const sinceBoot = Number((await fs.readFile('/proc/uptime', 'utf8')).split(' ')[0]);
    return Math.max(0, Math.round(sinceBoot - startTicks / 100));
  } catch {
    return null;
  }
}

export interface LiveStatus extends ServiceState {
  uptimeSec: number | null;
}

const CACHE_MS = 3000;
const recent = new Map<string, { at: number; status: Promise<LiveStatus> }>();

/**
 * What the dashboard shows for a target (its stored spec): running or stopped, PID and uptime.
 * Every open dashboard polls every target, so one answer serves them all for a
 * few seconds instead of a supervisorctl or systemctl spawn per poll.
 */
export function liveStatus(stored: unknown): Promise<LiveStatus> {
  const key = JSON.stringify(stored);
  const hit = recent.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.status;
  for (const [k, v] of recent) if (Date.now() - v.at >= CACHE_MS) recent.delete(k);
  const status = probeStatus(stored);
  recent.set(key, { at: Date.now(), status });
  return status;
}

async function probeStatus(stored: unknown): Promise<LiveStatus> {
  const parsed = targetSpec.safeParse(stored);
  if (!parsed.success) {
    // Saved by an older version (a signal target without `match`): shown, never acted on.
    const fields = Object.keys(z.flattenError(parsed.error).fieldErrors).join(', ');
    const detail = `the stored settings are no longer valid (${fields}); save the target again`;
    return { running: false, pid: null, workerPids: [], detail, uptimeSec: null };
  }
  const spec = parsed.data;
  if (spec.manager === 'self') {
    return {
      running: true,
      pid: process.pid,
      workerPids: [],
      detail: 'Deckhand',
      uptimeSec: Math.round(process.uptime()),
    };
  }
  try {
    const state = await adapterFor(spec, plainExec).state();
    return { ...state, uptimeSec: state.pid ? await uptimeOf(state.pid) : null };
  } catch (err) {
    return { running: false, pid: null, workerPids: [], detail: (err as Error).message, uptimeSec: null };
  }
}
