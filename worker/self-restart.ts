import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/client.ts';
import { sendControl } from '../db/control.ts';
import { readRestartState } from '../db/settings.ts';

const PICKUP_MS = 15_000;
const FINISH_MS = 180_000;

/**
 * Asks the web tier's supervisor (over PostgreSQL) for a rolling restart and
 * waits until it reports this restart done. Returns the pids of the new web
 * processes. New web processes load whatever `current` names when they start.
 */
export async function restartWebTier(db: Db, by: string, signal: AbortSignal): Promise<number[]> {
  const asked = Date.now();
  await sendControl(db, { type: 'restart-web', by });
  let picked = false;
  while (Date.now() - asked < (picked ? FINISH_MS : PICKUP_MS)) {
    await sleep(250, undefined, { signal });
    const state = await readRestartState(db);
    if (state.by !== by || !state.startedAt || Date.parse(state.startedAt) < asked - 1000) continue;
    picked = true;
    if (state.state === 'done') return state.pids;
    if (state.state === 'failed') throw new Error(`the rolling restart of the web tier failed: ${state.error}`);
  }
  throw new Error(
    picked
      ? `the rolling restart of the web tier did not finish within ${FINISH_MS / 1000} s`
      : 'no Deckhand web supervisor answered the restart request (is the web tier running on this database?)',
  );
}

export class StaleWebProcessError extends Error {
  override name = 'StaleWebProcessError';
}

interface Healthz {
  pid: number;
  release: string | null;
}

/** One GET /healthz on a fresh connection (so that any web process may answer), or null. */
function healthz(url: URL, verifyTls: boolean): Promise<Healthz | null> {
  return new Promise((resolve) => {
    const get = url.protocol === 'https:' ? https.get : http.get;
    const req = get(url, { rejectUnauthorized: verifyTls, timeout: 3000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => {
        body += d;
      });
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(body) as Healthz) : null);
        } catch {
          resolve(null);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/**
 * The health gate of a deploy of Deckhand: /healthz (on the origin of the target's
 * health URL) must report `release` from every web process the restart started.
 * The processes share one socket, so it asks on fresh connections, a few at a
 * time, until each pid has answered; a process that answers with another release
 * fails the gate at once.
 */
export async function assertWebTierRuns(
  release: string,
  pids: readonly number[],
  o: { healthUrl: string; verifyTls: boolean; timeoutMs: number; signal: AbortSignal },
): Promise<void> {
  const url = new URL('/healthz', o.healthUrl);
  const seen = new Set<number>();
  const deadline = Date.now() + o.timeoutMs;
  while (Date.now() < deadline) {
    const answers = await Promise.all(Array.from({ length: 2 * pids.length }, () => healthz(url, o.verifyTls)));
    for (const a of answers) {
      if (!a) continue;
      if (a.release !== release) {
        throw new StaleWebProcessError(`web process ${a.pid} runs ${a.release ?? 'no release'}, not ${release}`);
      }
      seen.add(a.pid);
    }
    if (pids.every((p) => seen.has(p))) return;
    await sleep(100, undefined, { signal: o.signal });
  }
  const missing = pids.filter((p) => !seen.has(p));
  throw new StaleWebProcessError(
    `web processes ${missing.join(', ')} did not report ${release} on ${url} within ${o.timeoutMs / 1000} s`,
  );
}
