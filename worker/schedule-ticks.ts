import type { Job } from 'bullmq';
import type { Logger } from '../config.ts';
import type { Db } from '../db/client.ts';
import { activeScheduleIds, claimTick, getSchedule, recordRun, type TickClaim } from '../db/schedules.ts';
import { roleAtLeast } from '../db/users.ts';
import type { Producer } from '../jobs/lib/queue.ts';
import { isLate, latestOccurrence, syncSchedulers, type TickData } from '../jobs/lib/schedules.ts';
import { type JobDeps, resolveRequest, submitJob } from '../server/job-service.ts';

/** The occurrence a tick stands for: BullMQ keeps it as `prevMillis`, and in the id `repeat:<scheduler>:<ms>`. */
function fireTimeOf(tick: Job<TickData>): Date {
  const fromId = Number(String(tick.id).split(':').at(-1));
  return new Date(tick.opts.prevMillis ?? (Number.isFinite(fromId) ? fromId : tick.timestamp));
}

/** Why the owner may not have this job run now, or null (checked at each tick: roles change). */
function ownerProblem(s: TickClaim, adminOnly: boolean): string | null {
  if (s.ownerDisabled) return `${s.owner} is disabled`;
  if (!roleAtLeast(s.ownerRole, 'operator')) return `${s.owner} is no longer an operator`;
  if (adminOnly && s.ownerRole !== 'admin') return `${s.owner} is no longer an admin, which this job needs`;
  return null;
}

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Takes a schedule's tick: claims its occurrence, then creates the job through the same path as
 * POST /api/jobs (checked, recorded, audited, then enqueued), requested by the schedule's owner.
 * A tick that waited past a later occurrence covers every one missed up to now: one catch-up run.
 */
export async function processTick(deps: JobDeps, tick: Job<TickData>): Promise<Record<string, unknown>> {
  const { db } = deps;
  const fireAt = fireTimeOf(tick);
  const schedule = await getSchedule(db, tick.data.schedule);
  if (!schedule || schedule.paused) return { outcome: 'none', why: schedule ? 'paused' : 'deleted' };
  const now = new Date();
  const catchUp = isLate(schedule.cron, schedule.tz, fireAt, now);
  const covered = catchUp ? latestOccurrence(schedule.cron, schedule.tz, now) : fireAt;
  const claim = await claimTick(db, schedule.id, fireAt, new Date(Math.max(covered.getTime(), fireAt.getTime())));
  if (!claim) return { outcome: 'none', why: 'this occurrence was already covered' };
  const run = { fireAt, catchUp };
  const skip = async (reason: string) => {
    await recordRun(db, claim.id, { ...run, outcome: 'skipped', reason });
    deps.log.warn({ schedule: claim.id, reason }, 'schedule tick skipped');
    return { outcome: 'skipped', reason };
  };
  const early = ownerProblem(claim, false);
  if (early) return skip(early);
  const owner = { id: claim.ownerId, username: claim.owner, role: claim.ownerRole as 'operator' | 'admin' };
  try {
    const stored = await resolveRequest(deps, claim.job);
    const late = ownerProblem(claim, deps.registry.get(stored.kind)?.adminOnly?.(stored) ?? false);
    if (late) return skip(late);
    const { id } = await submitJob(deps, owner, stored, { scheduleId: claim.id });
    await recordRun(db, claim.id, { ...run, outcome: 'started', jobId: id });
    return { outcome: 'started', job: id };
  } catch (err) {
    // The request no longer holds (a script or target was removed) or the queue refused: no job this time.
    const reason = describe(err);
    await recordRun(db, claim.id, { ...run, outcome: 'failed', reason });
    deps.log.warn({ schedule: claim.id, reason }, 'schedule tick could not start its job');
    return { outcome: 'failed', reason };
  }
}

/** Keeps BullMQ's schedulers in line with the schedules table, now and every `everyMs`; returns its stop. */
export function startScheduleSync(db: Db, producer: Producer, log: Logger, everyMs = 30_000): () => void {
  const once = () =>
    syncSchedulers(producer.queue, () => activeScheduleIds(db))
      .then((r) => {
        if (r.added || r.removed) log.warn(r, 'schedule sync repaired BullMQ schedulers');
      })
      .catch((err) => log.warn({ err: String(err) }, 'schedule sync failed'));
  void once();
  const timer = setInterval(once, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
