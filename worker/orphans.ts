import fs from 'node:fs';
import type { Logger } from '../config.ts';
import type { Db } from '../db/client.ts';
import { isOpen, type JobStanding, jobStandings } from '../db/job-repair.ts';

/** A process started for a job: every job process gets DECKHAND_JOB_ID, and its children inherit it. */
export interface JobProcess {
  pid: number;
  ppid: number;
  pgid: number;
  jobId: string;
  /**
   * Whether it runs as this worker's user (real and effective uid), as job processes do. Anyone can
   * put DECKHAND_JOB_ID in a process's environment; only these vouch that their group is a job's.
   */
  ownUser: boolean;
}

const ownUid = process.getuid?.() ?? 0;

/** Real and effective uid from /proc/<pid>/status; a setuid program keeps its caller's real uid. */
function runsAsOwnUser(pid: number): boolean {
  const uids = /^Uid:\s*(\d+)\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return uids !== null && Number(uids[1]) === ownUid && Number(uids[2]) === ownUid;
}

const JOB_ENV = 'DECKHAND_JOB_ID=';

/** What /proc says about one live process, or null if it is gone, a zombie, or no job's. */
export function readJobProcess(pid: number): JobProcess | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z') return null;
    const entry = fs
      .readFileSync(`/proc/${pid}/environ`, 'latin1')
      .split('\0')
      .find((e) => e.startsWith(JOB_ENV));
    if (!entry) return null;
    return {
      pid,
      ppid: Number(ppid),
      pgid: Number(pgid),
      jobId: entry.slice(JOB_ENV.length),
      ownUser: runsAsOwnUser(pid),
    };
  } catch {
    return null; // gone, or not ours to read
  }
}

export function listJobProcesses(): JobProcess[] {
  return fs.readdirSync('/proc').flatMap((name) => {
    const p = /^\d+$/.test(name) ? readJobProcess(Number(name)) : null;
    return p ? [p] : [];
  });
}

/** The pid of a lease owner (`host:pid:random`) that runs on this host. */
function localWorkerPid(owner: string | null, hostname: string): number | null {
  const m = owner?.startsWith(`${hostname}:`) ? /^(\d+):/.exec(owner.slice(hostname.length + 1)) : null;
  return m ? Number(m[1]) : null;
}

/**
 * Whether a job's process group is orphaned. A job's process runs only while its row is active
 * under a lease, as a direct child of the worker holding it; its group id is the row's pid.
 * Jobs of another database (no row here) are never touched.
 */
export function isOrphaned(group: JobProcess[], standing: JobStanding | undefined, hostname: string): boolean {
  if (!standing) return false;
  if (!isOpen(standing.status) || standing.status === 'queued' || standing.status === 'retrying') return true;
  const pgid = group[0]!.pgid;
  const workerPid = localWorkerPid(standing.leaseOwner, hostname);
  if (workerPid === null || pgid !== standing.pid) return false;
  const leader = group.find((p) => p.pid === pgid);
  // A live worker is its leader's parent; a dead one's leader was reparented (or is gone).
  return !leader || leader.ppid !== workerPid;
}

const ownGroup = (() => {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return process.pid;
  }
})();

/**
 * Kills the process groups of jobs whose worker died or which have ended. Right before the
 * signal it checks again that a member of the group is still this job's process in this group,
 * and runs as this worker's user, so neither a group id reused by an unrelated process nor a
 * group where a service account planted a job's id is ever signalled.
 */
export async function killOrphanedJobProcesses(db: Db, hostname: string, log: Logger): Promise<number> {
  const groups = new Map<string, JobProcess[]>();
  for (const p of listJobProcesses()) {
    const key = `${p.jobId}:${p.pgid}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  if (groups.size === 0) return 0;
  const standings = await jobStandings(db, [...new Set([...groups.values()].map((g) => g[0]!.jobId))]);
  let killed = 0;
  for (const group of groups.values()) {
    const { jobId, pgid } = group[0]!;
    if (pgid <= 1 || pgid === ownGroup || !isOrphaned(group, standings.get(jobId), hostname)) continue;
    const still = group.some((p) => {
      const now = readJobProcess(p.pid);
      return now?.jobId === jobId && now.pgid === pgid && now.ownUser;
    });
    if (!still) continue;
    try {
      process.kill(-pgid, 'SIGKILL');
      killed++;
      log.warn(
        { jobId, pgid, pids: group.map((p) => p.pid), status: standings.get(jobId)?.status },
        'killed the orphaned processes of a job whose worker is gone or which has ended',
      );
    } catch {
      // the group exited meanwhile
    }
  }
  return killed;
}
