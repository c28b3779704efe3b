import fs from 'node:fs/promises';
import type { ProcessMatch } from '../../jobs/lib/targets.ts';
import { checkedPidfileProcess } from './pidfile.ts';
import type { ServiceAdapter, ServiceState } from './types.ts';
import { ServiceNotRunningError } from './types.ts';

/** Children of `pid`, from /proc (gunicorn's and nginx's workers). */
export async function childPids(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(Number(entry));
  }
  return out.sort((a, b) => a - b);
}

/**
 * A pidfile plus a signal: SIGHUP to a gunicorn (or nginx) master starts new
 * workers, lets in-flight requests complete and retires the old ones. The PID is
 * checked against what the target declares on every look, and again right before
 * the signal (PidRefusedError otherwise).
 */
export function signalAdapter(pidfile: string, signal: NodeJS.Signals, match: ProcessMatch): ServiceAdapter {
  async function state(): Promise<ServiceState> {
    const p = await checkedPidfileProcess(pidfile, match);
    if (!p) return { running: false, pid: null, workerPids: [], detail: `no master process at pidfile ${pidfile}` };
    return { running: true, pid: p.pid, workerPids: await childPids(p.pid), detail: p.exe ?? '' };
  }
  /** Sends `sig` to the master the pidfile names, checked right before (never a PID it merely read earlier). */
  async function signalMaster(sig: NodeJS.Signals) {
    const s = await state();
    if (!s.running || !s.pid) throw new ServiceNotRunningError(`not running: ${s.detail}`);
    process.kill(s.pid, sig);
  }
  return {
    manager: 'signal',
    state,
    apply: () => signalMaster(signal),
    // SIGTERM: gunicorn and nginx finish in-flight requests, stop their workers, then exit.
    stop: () => signalMaster('SIGTERM'),
  };
}
