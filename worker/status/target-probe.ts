import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import { z } from 'zod';
import type { TargetStatus } from '../../db/status-shapes.ts';
import { type TargetSpec, targetSpec } from '../../jobs/lib/targets.ts';
import { adapterFor } from '../adapters/index.ts';
import type { Exec, ServiceState } from '../adapters/types.ts';
import { code, readManagedFile, UnsafePathError } from '../safe-fs.ts';

/** A certificate file is a few kB; anything bigger is not read (a service account's planted file). */
const MAX_CERT_BYTES = 256 * 1024;
const DAY_MS = 86_400_000;

/** An Exec outside any job: no shell, a timeout, output kept for parsing only. */
const plainExec: Exec = (file, args, opts) =>
  new Promise((resolve) => {
    execFile(file, [...args], { timeout: opts.timeoutMs, maxBuffer: 1 << 20 }, (err, stdout) => {
      const code = err && typeof err.code === 'number' ? err.code : err ? 127 : 0;
      resolve({ exitCode: code, signal: err?.signal ?? null, stdout });
    });
  });

/** When `pid` started: boot time plus its start in clock ticks (100 Hz on every Linux distro kernel). */
export async function startTimeOf(pid: number): Promise<string | null> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const btime = Number(/^btime (\d+)$/m.exec(await fs.readFile('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(startTicks) || !Number.isFinite(btime)) return null;
    return new Date(btime * 1000 + startTicks * 10).toISOString();
  } catch {
    return null;
  }
}

/** Days left on the certificate the target serves, read without following a symlink. */
export async function certDaysLeft(
  spec: TargetSpec,
  managed: readonly string[],
  now = Date.now(),
): Promise<Pick<TargetStatus, 'certDaysLeft' | 'certExpiresAt' | 'certError'>> {
  if (!spec.tls) return { certDaysLeft: null, certError: null };
  try {
    const cert = new X509Certificate(await readManagedFile(spec.tls.certPath, managed, MAX_CERT_BYTES));
    const expires = Date.parse(cert.validTo);
    return {
      certDaysLeft: Math.floor((expires - now) / DAY_MS),
      certExpiresAt: new Date(expires).toISOString(),
      certError: null,
    };
  } catch (err) {
    const file = spec.tls.certPath;
    const certError =
      err instanceof UnsafePathError
        ? err.message
        : code(err) === 'ENOENT'
          ? `${file} does not exist`
          : `${file} is not a readable PEM certificate`;
    return { certDaysLeft: null, certError };
  }
}

type Probed = Omit<TargetStatus, 'lastSeen'>;

const notRunning = (detail: string): Omit<Probed, 'certDaysLeft' | 'certError'> => ({
  running: false,
  pid: null,
  startedAt: null,
  detail,
});

async function serviceState(spec: TargetSpec): Promise<Omit<Probed, 'certDaysLeft' | 'certError'>> {
  // The web tier is Deckhand itself: if a page asks, it runs; its processes are not this worker's to name.
  if (spec.manager === 'self') return { running: true, pid: null, startedAt: null, detail: "Deckhand's web tier" };
  let state: ServiceState;
  try {
    state = await adapterFor(spec, plainExec).state();
  } catch (err) {
    return notRunning((err as Error).message);
  }
  const startedAt = state.pid ? await startTimeOf(state.pid) : null;
  return { running: state.running, pid: state.pid, startedAt, detail: state.detail };
}

/** A target's live status (its stored spec): running or stopped, PID, start time, certificate days left. */
export async function probeTarget(stored: unknown, managed: readonly string[]): Promise<Probed> {
  const parsed = targetSpec.safeParse(stored);
  if (!parsed.success) {
    // Saved by an older version (a signal target without `match`): shown, never acted on.
    const fields = Object.keys(z.flattenError(parsed.error).fieldErrors).join(', ');
    const detail = `the stored settings are no longer valid (${fields}); save the target again`;
    return { ...notRunning(detail), certDaysLeft: null, certError: null };
  }
  const [state, cert] = await Promise.all([serviceState(parsed.data), certDaysLeft(parsed.data, managed)]);
  return { ...state, ...cert };
}
