import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSettings } from '../db/settings.ts';
import { eventually, type Harness, harness, spawnWebTier, type TestUser } from './support/app.ts';
import { npmStart } from './support/npm-start.ts';
import { freePort, stopChild } from './support/process.ts';
import { childrenOf, cmdline } from './support/procfs.ts';
import { scratchDir } from './support/services.ts';

/**
 * DESIGN §6: a cold start of the web tier (server/main.ts, as `npm start` and the unit start it,
 * here with 2 web processes) ends every session exactly once, however many supervisors start
 * together; the count is logged and audited. A rolling restart adds no cold-start sign-out, and
 * with the setting off sessions survive a cold start.
 */

const root = path.resolve(import.meta.dirname, '..');
let h: Harness;
let admin: TestUser;
let dir: string;
const running: ChildProcess[] = [];

beforeAll(async () => {
  h = await harness();
  admin = await h.user('admin'); // its bearer token outlives any sign-out
  dir = scratchDir('cold-start');
});
afterAll(async () => {
  await Promise.all(running.map((w) => stopChild(w)));
  await h.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** server/main.ts on a free port, serving once /healthz answers. */
async function startWebTier(name: string) {
  const port = await freePort();
  const logFile = path.join(dir, `${name}.log`);
  const web = spawnWebTier(h, { appDir: root, port, logFile, env: { LOG_LEVEL: 'info' } });
  running.push(web);
  await eventually(
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok,
    120_000, // tsx compiles each process's code at start: slow on a busy machine
    `${name} to serve`,
  );
  return { web, port, log: () => fs.readFileSync(logFile, 'utf8') };
}

async function stop(web: ChildProcess) {
  await stopChild(web);
  running.splice(running.indexOf(web), 1);
}

const coldStarts = async () =>
  (
    await h.database.db.$client.query("SELECT details FROM audit_log WHERE action = 'deckhand.cold_start' ORDER BY id")
  ).rows.map((r) => r.details as { signedOut: number });
const sessionCount = async () =>
  (await h.database.db.$client.query('SELECT count(*)::int AS n FROM sessions')).rows[0].n as number;

/** A page as the holder of `user`'s session, with the sign-in time cookie a browser got at sign-in. */
const page = (port: number, user: TestUser, signedInAt: number) =>
  fetch(`http://127.0.0.1:${port}/`, {
    headers: { Cookie: `${user.cookie}; deckhand_signed_in=${signedInAt}`, Accept: 'text/html' },
    redirect: 'manual',
  });

describe('a cold start of the web tier', { timeout: 240_000 }, () => {
  it('signs every session out once, audits and logs the count, and the login page says Deckhand restarted', async () => {
    const signedInAt = Date.now() - 1000;
    const users = await Promise.all([h.user('viewer'), h.user('operator'), h.user('viewer')]);
    const before = await sessionCount();
    expect(before).toBe(4); // the admin's and these three
    const tier = await startWebTier('first');
    expect(await sessionCount()).toBe(0);
    expect(await coldStarts()).toEqual([expect.objectContaining({ signedOut: 4 })]);
    expect(tier.log()).toContain('cold start: signed out 4 sessions');
    const res = await page(tier.port, users[0]!, signedInAt);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/login?reason=restarted');
    const login = await fetch(`http://127.0.0.1:${tier.port}/login?reason=restarted`);
    expect(await login.text()).toContain('Deckhand was restarted, which signs everyone out.');

    // A session made after the start is the web tier's own: it stays, through a rolling restart
    // too, which signs out by itself (DESIGN §6) and adds no cold-start sign-out.
    const later = await h.user('viewer');
    expect((await page(tier.port, later, Date.now())).status).toBe(200);
    const restart = await fetch(`http://127.0.0.1:${tier.port}/api/system/restart`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin.token}` },
    });
    expect(restart.status).toBe(202);
    await eventually(
      async () =>
        (await h.database.db.$client.query("SELECT value FROM settings WHERE key = 'webRestart'")).rows[0]?.value
          .state === 'done',
      60_000,
      'the rolling restart',
    );
    expect(await coldStarts()).toHaveLength(1);
    await stop(tier.web);
  });

  it('happens once when two web supervisors start together, each with 2 web processes', async () => {
    await Promise.all([h.user('viewer'), h.user('viewer')]);
    const already = (await coldStarts()).length;
    const [a, b] = await Promise.all([startWebTier('pair-a'), startWebTier('pair-b')]);
    expect(await sessionCount()).toBe(0);
    const added = (await coldStarts()).slice(already);
    expect(added).toHaveLength(1);
    expect(added[0]!.signedOut).toBeGreaterThanOrEqual(2);
    const logs = [a.log(), b.log()];
    expect(logs.filter((l) => l.includes('cold start: signed out')).length).toBe(1);
    expect(logs.filter((l) => l.includes('sessions already ended by the web tier starting with this one')).length).toBe(
      1,
    );
    await Promise.all([stop(a.web), stop(b.web)]);
  });

  it('keeps the sessions when logoutOnRestart is off', async () => {
    await writeSettings(h.database.db, { logoutOnRestart: false });
    try {
      const viewer = await h.user('viewer');
      const already = (await coldStarts()).length;
      const tier = await startWebTier('setting-off');
      expect((await page(tier.port, viewer, Date.now())).status).toBe(200);
      expect(await coldStarts()).toHaveLength(already);
      expect(tier.log()).toContain('cold start: sessions kept');
      await stop(tier.web);
    } finally {
      await writeSettings(h.database.db, { logoutOnRestart: true });
    }
  });
});

/** The web processes of `npm start`'s supervisor (it is the web tier's node:cluster primary itself). */
const webEntries = (parent: number) => childrenOf(parent).filter((p) => /server\/main\.(ts|js)\b/.test(cmdline(p)));

describe('under npm start', { timeout: 240_000 }, () => {
  const startDeckhand = async (dataDir: string) =>
    npmStart({
      dataDir,
      port: await freePort(),
      readyTimeoutMs: 120_000,
      env: {
        DATABASE_URL: h.database.url,
        ...(h.queue.redisUrl ? { REDIS_URL: h.queue.redisUrl } : {}),
        DECKHAND_QUEUE: h.queue.name,
        DECKHAND_SECRET_KEY: h.config.DECKHAND_SECRET_KEY!,
        DECKHAND_WORKERS: '0',
        DECKHAND_WEB_PROCESSES: '2',
      },
    });

  it('a crashed web process is started again without signing anyone out; starting npm start again is a cold start', async () => {
    const dataDir = scratchDir('cold-start-npm');
    let run = await startDeckhand(dataDir);
    try {
      const serving = async () => (await fetch(run.url('/healthz')).catch(() => null))?.ok;
      const started = (await coldStarts()).length; // npm start's own start is one
      const viewer = await h.user('viewer');
      const signedInAt = Date.now() - 1000;
      const supervisor = run.supervisorPid();
      const webProcesses = webEntries(supervisor);
      expect(webProcesses).toHaveLength(2);

      // One web process dies: the supervisor starts another on the same socket; nobody is signed out.
      process.kill(webProcesses[0]!, 'SIGKILL');
      await eventually(
        async () => webEntries(supervisor).filter((p) => !webProcesses.includes(p)).length === 1 && serving(),
        60_000,
        'a new web process',
      );
      expect((await page(run.port, viewer, signedInAt)).status).toBe(200);
      expect(await coldStarts()).toHaveLength(started);

      // Deckhand stopped and started again: a cold start, which signs the session out.
      await run.cleanup();
      run = await startDeckhand(dataDir);
      const res = await page(run.port, viewer, signedInAt);
      expect(res.headers.get('location')).toBe('/login?reason=restarted');
      expect(await coldStarts()).toHaveLength(started + 1);
    } finally {
      await run.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
