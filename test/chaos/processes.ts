import fs from 'node:fs';
import path from 'node:path';
import type { Harness, TestUser } from '../support/app.ts';
import { type NpmStart, npmStart } from '../support/npm-start.ts';
import { freePort } from '../support/process.ts';
import { childrenOf, cmdline } from '../support/procfs.ts';
import { chaosScripts } from './support.ts';

/** `npm start` on the harness's database and queue (no embedded cluster), running the chaos scripts. */
export async function startDeckhand(h: Harness, dataDir: string, env: Record<string, string> = {}): Promise<NpmStart> {
  fs.mkdirSync(dataDir, { recursive: true });
  return npmStart({
    dataDir,
    port: await freePort(),
    env: {
      DATABASE_URL: h.database.url,
      ...(h.queue.redisUrl ? { REDIS_URL: h.queue.redisUrl } : {}),
      DECKHAND_QUEUE: h.queue.name,
      DECKHAND_SCRIPTS_DIR: chaosScripts,
      ...(h.config.DECKHAND_SECRET_KEY ? { DECKHAND_SECRET_KEY: h.config.DECKHAND_SECRET_KEY } : {}),
      DECKHAND_WEB_PROCESSES: '1',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
}

/** The worker processes the supervisor of `run` runs right now. */
export const workerPids = (run: NpmStart) =>
  childrenOf(run.supervisorPid()).filter((p) => cmdline(p).includes(path.join('worker', 'main.js')));

export interface Answer {
  status: number;
  body: { id?: string; error?: { code?: string; message?: string } } | null;
}

/** One API call over HTTP as `user`; a refused connection or a timeout is status 0. */
export async function call(run: NpmStart, user: TestUser, method: string, url: string, body?: unknown) {
  try {
    const res = await fetch(run.url(url), {
      method,
      headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    let parsed: Answer['body'] = null;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed } satisfies Answer;
  } catch {
    return { status: 0, body: null } satisfies Answer;
  }
}

/** POSTs `count` jobs over HTTP, `parallel` at a time; returns the ids answered 202 and every answer's status. */
export async function postJobs(
  run: NpmStart,
  user: TestUser,
  count: number,
  job: { kind: string; script: string; params: Record<string, unknown> },
  parallel = 8,
) {
  const ids: string[] = [];
  const statuses: number[] = [];
  let next = 0;
  const client = async () => {
    while (next < count) {
      next++;
      const r = await call(run, user, 'POST', '/api/jobs', job);
      statuses.push(r.status);
      if (r.status === 202 && r.body?.id) ids.push(r.body.id);
    }
  };
  await Promise.all(Array.from({ length: parallel }, client));
  return { ids, statuses };
}
