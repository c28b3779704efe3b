import { createRequire } from 'node:module';
import type { Queue } from 'bullmq';
import type * as CronParser from 'cron-parser';
import { SCHEDULE_TICK } from './queue.ts';

/**
 * Schedules on BullMQ job schedulers (DESIGN §11), shared by the web tier (create, pause, next runs)
 * and the workers (ticks, sync). Scheduler `schedule-<id>` adds a `schedule-tick` job at each
 * occurrence; whoever takes it creates the real job. BullMQ adds the next tick when a worker takes
 * the current one, computed from then, so a tick that waited out a downtime comes once, not once
 * per missed occurrence; db/schedules.ts claimTick enforces the same on our side.
 */

// BullMQ's own copy of cron-parser, so next runs shown are the ones BullMQ will fire.
const { CronExpressionParser } = createRequire(createRequire(import.meta.url).resolve('bullmq'))(
  'cron-parser',
) as typeof CronParser;

export interface TickData {
  schedule: string;
}

export const schedulerId = (scheduleId: string) => `schedule-${scheduleId}`;
const SCHEDULER_PREFIX = /^schedule-([0-9a-f-]{36})$/;

/** A tick's finished entries are kept briefly, for the queue dashboard; the record is schedule_runs. */
const TICK_RETENTION = { removeOnComplete: { count: 200 }, removeOnFail: { count: 200 } };

/** The reason a time zone is not one, or null. */
export function timezoneProblem(tz: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return null;
  } catch {
    return `unknown time zone: ${tz} (use an IANA name such as UTC or Europe/Paris)`;
  }
}

/** Upcoming runs compared when checking a cron's shortest gap: enough to cover a day's irregular fields. */
const GAP_SAMPLE = 25;

/**
 * The reason a cron expression is unusable (BullMQ's parser rejects it, it never fires, or two of its
 * upcoming runs come closer than `minIntervalSec`), or null.
 */
export function cronProblem(cron: string, tz: string, minIntervalSec: number): string | null {
  try {
    const expr = CronExpressionParser.parse(cron, { tz, currentDate: new Date() });
    if (!expr.hasNext()) return 'this cron expression never fires';
    const runs = expr.take(GAP_SAMPLE).map((d) => d.getTime());
    const gap = Math.min(...runs.slice(1).map((t, i) => t - runs[i]!));
    return gap < minIntervalSec * 1000
      ? `two of its runs come ${gap / 1000} s apart; a schedule may run at most once every ${minIntervalSec} s (DECKHAND_SCHEDULE_MIN_INTERVAL_SEC)`
      : null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The next `count` occurrences after `from`. */
export function nextRuns(cron: string, tz: string, count: number, from = new Date()): Date[] {
  return CronExpressionParser.parse(cron, { tz, currentDate: from })
    .take(count)
    .map((d) => d.toDate());
}

/** The latest occurrence at or before `at`. */
export function latestOccurrence(cron: string, tz: string, at: Date): Date {
  return CronExpressionParser.parse(cron, { tz, currentDate: new Date(at.getTime() + 1) })
    .prev()
    .toDate();
}

/** True when an occurrence after `fireAt` has already passed: the tick stands for a missed run. */
export function isLate(cron: string, tz: string, fireAt: Date, now = new Date()): boolean {
  return nextRuns(cron, tz, 1, fireAt)[0]!.getTime() <= now.getTime();
}

/** Creates (or re-creates) the schedule's BullMQ scheduler; its first tick is the next occurrence. */
export async function upsertScheduler(queue: Queue, s: { id: string; cron: string; tz: string }): Promise<void> {
  await queue.upsertJobScheduler(
    schedulerId(s.id),
    { pattern: s.cron, tz: s.tz },
    { name: SCHEDULE_TICK, data: { schedule: s.id } satisfies TickData, opts: { attempts: 1, ...TICK_RETENTION } },
  );
}

export async function removeScheduler(queue: Queue, scheduleId: string): Promise<void> {
  await queue.removeJobScheduler(schedulerId(scheduleId));
}

export async function hasScheduler(queue: Queue, scheduleId: string): Promise<boolean> {
  return Boolean(await queue.getJobScheduler(schedulerId(scheduleId)));
}

/**
 * Makes BullMQ's schedulers match PostgreSQL, the record: a missing one (Redis lost, a create that
 * died between its commit and its scheduler) is added; one with no active schedule is removed. An
 * existing scheduler is left alone, since re-upserting it would drop a pending catch-up tick. A
 * `fresh` schedule is not added yet: its create is making the scheduler now, and a second upsert racing
 * it can make BullMQ refuse the create's own (CI saw a 503 on a schedule that was in fact live).
 */
export async function syncSchedulers(
  queue: Queue,
  loadActive: () => Promise<ReadonlyMap<string, { cron: string; tz: string; fresh?: boolean }>>,
): Promise<{ added: number; removed: number }> {
  // BullMQ first: a schedule created after this read has its scheduler made after it too, so it is never taken for an orphan.
  const schedulers = await queue.getJobSchedulers();
  const active = await loadActive();
  const present = new Set<string>();
  let removed = 0;
  for (const s of schedulers) {
    const id = SCHEDULER_PREFIX.exec(s.key)?.[1];
    if (!id) continue;
    if (active.has(id)) present.add(id);
    else if ((await queue.removeJobScheduler(s.key)) !== false) removed++;
  }
  let added = 0;
  for (const [id, s] of active) {
    if (present.has(id) || s.fresh) continue;
    await upsertScheduler(queue, { id, cron: s.cron, tz: s.tz });
    added++;
  }
  return { added, removed };
}
