import type pg from 'pg';
import { jobRanOnTargetSince, recordUnexpectedRestart } from '../../db/host-status.ts';
import type { TargetStatus } from '../../db/status-shapes.ts';

type LastSeen = NonNullable<TargetStatus['lastSeen']>;
type Sample = Pick<TargetStatus, 'running' | 'pid' | 'startedAt'>;

/**
 * The process seen now, or the one seen before when nothing runs now: a stop followed by
 * a start is compared with the process that ran before the stop.
 */
export function nextLastSeen(previous: LastSeen | null, now: Sample, at: string): LastSeen | null {
  return now.running && now.pid ? { pid: now.pid, startedAt: now.startedAt, at } : previous;
}

/** A different process than last seen: a new PID, or the same PID started again (PID reuse). */
export function processChanged(previous: LastSeen | null, now: Sample): boolean {
  if (!previous || !now.running || !now.pid) return false;
  if (previous.pid !== now.pid) return true;
  return previous.startedAt !== null && now.startedAt !== null && previous.startedAt !== now.startedAt;
}

const clock = (iso: string | null) => (iso ? `${iso.slice(11, 19)} UTC` : 'at an unknown time');

/**
 * Records a restart nobody asked Deckhand for (a crash and respawn, an auto-reloader left on, someone
 * on the box): the process changed and no Deckhand job on the target ran since it was last seen.
 */
export async function noteUnexpectedRestart(
  conn: Pick<pg.PoolClient, 'query'>,
  target: string,
  previous: LastSeen | null,
  now: Sample,
): Promise<boolean> {
  if (!previous || !processChanged(previous, now)) return false;
  if (await jobRanOnTargetSince(conn, target, previous.at)) return false;
  await recordUnexpectedRestart(conn, {
    target,
    oldPid: previous.pid,
    newPid: now.pid,
    detail: `pid ${previous.pid} → ${now.pid}, started ${clock(now.startedAt)}, no Deckhand job`,
  });
  return true;
}
