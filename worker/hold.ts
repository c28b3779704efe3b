import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../config.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';

const FIRST_WAIT_MS = 200;
const LONGEST_WAIT_MS = 2000;

/**
 * Runs a database write that must survive an outage: while PostgreSQL cannot be reached it waits
 * and tries again, for as long as the outage lasts, so a job's history and final status are
 * written late rather than never (or wrongly). Any other error is thrown at once.
 */
export async function holdThroughOutage<T>(
  write: () => Promise<T>,
  log: Logger,
  what: string,
  context: Record<string, unknown> = {},
): Promise<T> {
  let held = false;
  for (let wait = FIRST_WAIT_MS; ; wait = Math.min(wait * 2, LONGEST_WAIT_MS)) {
    try {
      const result = await write();
      if (held) log.info({ ...context, what }, 'database reachable again: the held write is done');
      return result;
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      if (!held)
        log.warn({ ...context, what, err: String(err) }, 'database unreachable: holding the write until it is back');
      held = true;
      await sleep(wait);
    }
  }
}
