import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { type ServerType, serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childPids } from '../worker/adapters/signal.ts';
import { api, eventually, type Harness, harness, processAlive, type TestUser, waitForStatus } from './support/app.ts';
import { accepts } from './support/process.ts';
import {
  type Gunicorn,
  makeCert,
  type Supervisord,
  scratchDir,
  startGunicorn,
  startSupervisord,
} from './support/services.ts';

const root = path.resolve(import.meta.dirname, '..');

describe('service control: start, stop, and restart of a stopped service (DESIGN §10)', () => {
  let h: Harness;
  let admin: TestUser;
  let op: TestUser;
  let viewer: TestUser;
  let supervisord: Supervisord;
  let gunicorn: Gunicorn;
  let dir: string;
  let server: ServerType;
  let url: string;

  const job = (user: TestUser, target: string, mode: string) =>
    api(h, user, 'POST', '/api/jobs', { kind: 'restart', target, mode });
  const finished = (user: TestUser, id: string) => waitForStatus(h, user, id, ['succeeded', 'failed'], 60_000);
  const supervisorStatus = async () =>
    (
      await promisify(execFile)('supervisorctl', ['-c', supervisord.config, 'status', 'web']).catch(
        (e: { stdout: string }) => e,
      )
    ).stdout;

  beforeAll(async () => {
    h = await harness();
    [admin, op, viewer] = await Promise.all([h.user('admin'), h.user('operator'), h.user('viewer')]);
    dir = scratchDir('service-control');
    supervisord = await startSupervisord(dir);
    gunicorn = await startGunicorn(dir, await makeCert(dir, 'web', ['localhost', '127.0.0.1']));
    const put = (name: string, spec: object) => api(h, admin, 'PUT', `/api/targets/${name}`, spec);
    expect((await put('files', { manager: 'supervisor', program: 'web', configPath: supervisord.config })).status).toBe(
      201,
    );
    const web = { manager: 'signal', pidfile: gunicorn.pidfile, match: gunicorn.match };
    expect((await put('web', web)).status).toBe(201);
    server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await gunicorn?.stop();
    await supervisord?.stop();
    await h?.close();
  });

  it('the worker checks the admin rule again: a stop whose requester lost the admin role before it ran fails', async () => {
    // No worker runs yet: the job is accepted while its requester is an admin, and claimed after the demotion.
    const demoted = await h.user('admin');
    const res = await job(demoted, 'files', 'stop');
    expect(res.status).toBe(202);
    await h.database.db.execute(sql`UPDATE users SET role = 'operator' WHERE id = ${demoted.id}`);
    await h.startWorker();
    const failed = await waitForStatus(h, admin, res.json.id, ['failed', 'succeeded'], 30_000);
    expect(failed).toMatchObject({ status: 'failed' });
    expect(failed.error).toBe(`${demoted.username} is no longer an admin, which this restart job needs`);
    expect(await supervisorStatus()).toMatch(/RUNNING|STARTING/); // never stopped
  });

  it('stop is for admins only: 403 for a viewer and an operator', async () => {
    for (const user of [viewer, op]) {
      const res = await job(user, 'files', 'stop');
      expect(res.status).toBe(403);
      expect(res.json.error.code).toBe('forbidden');
    }
    const jobs = await h.database.db.execute(sql`SELECT count(*)::int AS n FROM jobs WHERE params->>'mode' = 'stop'`);
    expect(jobs.rows[0]).toEqual({ n: 1 }); // only the demoted admin's, above
  });

  it('an admin stops a supervisor program from the CLI; an operator starts it again', async () => {
    // supervisord says STARTING (no pid yet) until the program has run for its startsecs.
    const running = await eventually(async () => /RUNNING\s+pid (\d+)/.exec(await supervisorStatus()), 15_000, 'web');
    const before = Number(running[1]);
    const cli = await promisify(execFile)(
      process.execPath,
      ['server/cli/deckhand.mjs', 'run', 'restart', 'target=files', 'mode=stop', '--wait'],
      { cwd: root, env: { PATH: process.env.PATH, DECKHAND_URL: url, DECKHAND_TOKEN: admin.token } },
    );
    expect(cli.stderr).toContain('succeeded');
    const stopped = await finished(admin, cli.stdout.split('\n')[0]!);
    expect(stopped).toMatchObject({ status: 'succeeded', step: 'files stopped' });
    expect(stopped.result).toMatchObject({ mode: 'stop', pidBefore: before, pidAfter: null });
    expect(await supervisorStatus()).toMatch(/STOPPED/);
    expect(processAlive(before)).toBe(false);
    expect(await accepts(supervisord.port)).toBe(false);

    const started = await finished(op, (await job(op, 'files', 'start')).json.id);
    expect(started).toMatchObject({ status: 'succeeded', step: 'files started' });
    expect(started.result.pidBefore).toBeNull();
    expect(started.result.pidAfter).toBeGreaterThan(0);
    expect(await supervisorStatus()).toMatch(new RegExp(`RUNNING\\s+pid ${started.result.pidAfter},`));
  });

  it('a restart of a stopped supervisor program starts it; a reload of one fails, saying so', async () => {
    expect((await finished(admin, (await job(admin, 'files', 'stop')).json.id)).status).toBe('succeeded');
    const reload = await finished(op, (await job(op, 'files', 'reload')).json.id);
    expect(reload.status).toBe('failed');
    expect(reload.error).toMatch(
      /^files is not running \(web +STOPPED .*\): a reload needs a running service; start it instead$/,
    );
    expect(await supervisorStatus()).toMatch(/STOPPED/);

    const restarted = await finished(op, (await job(op, 'files', 'restart')).json.id);
    expect(restarted).toMatchObject({ status: 'succeeded', step: 'files restarted' });
    expect(restarted.result.pidBefore).toBeNull();
    expect(restarted.result.pidAfter).toBeGreaterThan(0);
    expect(await supervisorStatus()).toMatch(/RUNNING/);
  });

  it('stops a gunicorn signal target: SIGTERM to the verified master, and none of its processes is left', async () => {
    const master = Number(fs.readFileSync(gunicorn.pidfile, 'utf8'));
    const workers = await childPids(master);
    expect(workers).toHaveLength(2);
    const stopped = await finished(admin, (await job(admin, 'web', 'stop')).json.id);
    expect(stopped).toMatchObject({ status: 'succeeded', step: 'web stopped' });
    expect(stopped.result).toMatchObject({ pidBefore: master, workersBefore: workers, pidAfter: null });
    expect([master, ...workers].filter(processAlive)).toEqual([]);
    expect(await accepts(gunicorn.port)).toBe(false);
  });

  it('refuses an unknown mode or an unknown field with a 400 naming it', async () => {
    const mode = await job(admin, 'files', 'halt');
    expect(mode.status).toBe(400);
    expect(mode.json.error.details.fieldErrors.mode[0]).toMatch(/restart.*reload.*start.*stop/);
    const extra = await api(h, admin, 'POST', '/api/jobs', {
      kind: 'restart',
      target: 'files',
      mode: 'stop',
      force: true,
    });
    expect(extra.status).toBe(400);
    expect(JSON.stringify(extra.json.error.details)).toContain('force');
  });

  it('never starts a signal target: 400 naming the manager for start, a clear failure for restart', async () => {
    const start = await job(op, 'web', 'start');
    expect(start.status).toBe(400);
    expect(start.json.error.message).toBe(
      'web is a signal (pidfile) target: Deckhand cannot start it; start it with the manager that runs it',
    );
    const restart = await finished(op, (await job(op, 'web', 'restart')).json.id);
    expect(restart.status).toBe('failed');
    expect(restart.error).toBe(
      `web is not running (no master process at pidfile ${gunicorn.pidfile}), and Deckhand cannot start a signal target: start it with its own manager`,
    );
  });
});
