import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import { sql } from 'drizzle-orm';
import { type Config, type Logger, NODE_FLAGS, WEB_NODE_FLAGS } from '../config.ts';
import type { Db } from '../db/client.ts';
import { type ColdStartOutcome, databaseNow, endSessionsOnColdStart } from '../db/cold-start.ts';
import { listenControl } from '../db/control.ts';
import { readRestartState, readSettings, writeRestartState } from '../db/settings.ts';
import { logicalAppDir, releaseToRun } from './release-dir.ts';

export const RESTART_MESSAGE = 'deckhand:restart';
export const RETIRE_MESSAGE = 'deckhand:retire';
export const RELOAD_TLS_MESSAGE = 'deckhand:reload-tls';
const RETIRE_TIMEOUT_MS = 30_000;

const listening = (w: Worker) => new Promise<void>((resolve) => w.once('listening', () => resolve()));

/** How web processes are started: the entry they run (this process's own unless named) and what they add to its env. */
export interface WebForkOptions {
  entry?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The web tier's supervisor (node:cluster primary). It holds the listening
 * socket, so a rolling restart starts each new web process before the old one
 * is disconnected, and no connection is refused or dropped in between.
 */
export function superviseWebProcesses(config: Config, db: Db, log: Logger, options: WebForkOptions = {}) {
  let stopping = false;
  let restarting = false;
  let stopListening = async () => {};
  const current = new Set<Worker>();
  const app = logicalAppDir(options.entry);

  function fork(): Worker {
    // Each new web process starts in the release `current` names now, not the one this process started in:
    // after a deploy of Deckhand it runs, and compiles, the new release.
    // This process's own flags (tsx's loader in development), with the web processes' memory flags in
    // place of the others', whether or not it was started with them.
    const execArgv = [
      ...process.execArgv.filter((f) => !NODE_FLAGS.includes(f) && !WEB_NODE_FLAGS.includes(f)),
      ...WEB_NODE_FLAGS,
    ];
    cluster.setupPrimary({ ...releaseToRun(app), execArgv });
    const w = cluster.fork(options.env);
    current.add(w);
    w.on('message', (m: { type?: string; by?: string }) => {
      if (m?.type === RESTART_MESSAGE) void rollingRestart(m.by ?? 'unknown');
    });
    w.on('exit', (code, signal) => {
      const expected = stopping || !current.has(w);
      current.delete(w);
      if (!expected) {
        log.warn({ pid: w.process.pid, code, signal }, 'web process exited; starting another');
        setTimeout(fork, 500);
      }
    });
    return w;
  }

  async function retire(old: Worker): Promise<void> {
    current.delete(old);
    const exited = new Promise((r) => old.once('exit', r));
    const killer = setTimeout(() => old.kill('SIGKILL'), RETIRE_TIMEOUT_MS);
    old.send({ type: RETIRE_MESSAGE }); // stops taking connections, finishes in-flight requests, then exits
    await exited;
    clearTimeout(killer);
  }

  /** A deliberate restart: sign everyone out once (if the setting says so), then replace each process. */
  async function rollingRestart(by: string): Promise<void> {
    if (restarting || stopping) return;
    restarting = true;
    const startedAt = new Date().toISOString();
    const state = {
      state: 'restarting' as const,
      by,
      startedAt,
      finishedAt: null,
      signedOut: null as number | null,
      pids: [],
      error: null,
    };
    try {
      await writeRestartState(db, state);
      for (const old of [...current]) {
        const next = fork();
        await listening(next);
        await retire(old);
      }
      // Once the new processes serve: pages that watched the restart find their session gone and go to login.
      if ((await readSettings(db)).logoutOnRestart) {
        const r = await db.execute(sql`DELETE FROM sessions`);
        state.signedOut = r.rowCount ?? 0;
        log.info({ sessions: state.signedOut, by }, `restart: signed out ${state.signedOut} sessions`);
      }
      const pids = [...current].map((w) => w.process.pid ?? 0);
      await writeRestartState(db, { ...state, state: 'done', finishedAt: new Date().toISOString(), pids });
      log.info({ pids, by }, 'rolling restart of the web tier finished');
    } catch (err) {
      log.error({ err }, 'rolling restart failed');
      await writeRestartState(db, { ...state, state: 'failed', error: (err as Error).message }).catch(() => {});
    } finally {
      restarting = false;
    }
  }

  return {
    async start() {
      // When this process began, on the database's clock: a cold-start sign-out that ran after it
      // (another supervisor starting at the same time) covers this start too.
      const startedAt = new Date((await databaseNow(db)).getTime() - process.uptime() * 1000);
      // Each web process accepts from the shared socket itself (no hand-off through this process),
      // so one that stops accepting leaves pending connections to the others instead of losing them.
      cluster.schedulingPolicy = cluster.SCHED_NONE;
      // Workers ask over PostgreSQL: a deploy of Deckhand for a rolling restart, a cert-reload of self for a TLS reload.
      const listener = listenControl(db, log, (m) => {
        if (m.type === 'restart-web') void rollingRestart(m.by);
        if (m.type === 'reload-tls') for (const w of current) w.send({ type: RELOAD_TLS_MESSAGE, by: m.by });
      });
      stopListening = listener.stop;
      // Heard before any web process serves: once the tier answers, restarts and TLS reloads reach it.
      await listener.ready;
      // A cold start ends every session before any web process of it serves (a rolling restart, a
      // TLS reload and a crashed web process replaced here never come this way).
      logColdStart(log, await endSessionsOnColdStart(db, startedAt, { pid: process.pid, host: os.hostname() }));
      const starting = Array.from({ length: config.DECKHAND_WEB_PROCESSES }, fork);
      await Promise.all(starting.map(listening));
      const last = await readRestartState(db);
      if (last.state === 'restarting') await writeRestartState(db, { ...last, state: 'failed', error: 'interrupted' });
      log.info(
        { pids: starting.map((w) => w.process.pid), url: `http://${config.DECKHAND_HOST}:${config.DECKHAND_PORT}` },
        'web tier listening',
      );
    },
    async stop() {
      stopping = true;
      await stopListening();
      await Promise.all([...current].map(retire));
    },
  };
}

function logColdStart(log: Logger, outcome: ColdStartOutcome): void {
  if (outcome.kind === 'signed-out') {
    const n = outcome.marker.signedOut;
    log.info({ sessions: n }, `cold start: signed out ${n} sessions`);
  } else if (outcome.kind === 'kept') {
    log.info('cold start: sessions kept (the logoutOnRestart setting is off)');
  } else {
    const { pid, host, at } = outcome.by;
    log.info({ pid, host, at }, 'cold start: sessions already ended by the web tier starting with this one');
  }
}
