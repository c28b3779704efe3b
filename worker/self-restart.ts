import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/client.ts';
import { sendControl } from '../db/control.ts';
import { readRestartState } from '../db/settings.ts';

const PICKUP_MS = 15_000;
const FINISH_MS = 180_000;

/**
 * Asks the web tier's supervisor (over PostgreSQL) for a rolling restart and
 * waits until it reports this restart done. New web processes load whatever
 * `current` names when they start.
 */
export async function restartWebTier(db: Db, by: string, signal: AbortSignal): Promise<void> {
  const asked = Date.now();
  await sendControl(db, { type: 'restart-web', by });
  let picked = false;
  while (Date.now() - asked < (picked ? FINISH_MS : PICKUP_MS)) {
    await sleep(250, undefined, { signal });
    const state = await readRestartState(db);
    if (state.by !== by || !state.startedAt || Date.parse(state.startedAt) < asked - 1000) continue;
    picked = true;
    if (state.state === 'done') return;
    if (state.state === 'failed') throw new Error(`the rolling restart of the web tier failed: ${state.error}`);
  }
  throw new Error(
    picked
      ? `the rolling restart of the web tier did not finish within ${FINISH_MS / 1000} s`
      : 'no Deckhand web supervisor answered the restart request (is the web tier running on this database?)',
  );
}
