import fs from 'node:fs/promises';
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

async function cmdline(pid: number): Promise<string | null> {
  const raw = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
  return raw === null ? null : raw.replaceAll('\0', ' ').trim();
}

/**
 * A pidfile plus a signal: SIGHUP to a gunicorn (or nginx) master starts new
 * workers, lets in-flight requests complete and retires the old ones.
 */
export function signalAdapter(pidfile: string, signal: NodeJS.Signals): ServiceAdapter {
  async function state(): Promise<ServiceState> {
    const text = await fs.readFile(pidfile, 'utf8').catch(() => null);
    const pid = text && /^\d+\s*$/.test(text) ? Number(text) : null;
    const cmd = pid ? await cmdline(pid) : null;
    if (!pid || !cmd)
      return { running: false, pid: null, workerPids: [], detail: `no master process at pidfile ${pidfile}` };
    return { running: true, pid, workerPids: await childPids(pid), detail: cmd };
  }
  return {
    state,
    async apply() {
      const s = await state();
      if (!s.running || !s.pid) throw new ServiceNotRunningError(`not running: ${s.detail}`);
      process.kill(s.pid, signal);
    },
  };
}
