import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, harness } from './support/app.ts';

const root = path.resolve(import.meta.dirname, '..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('the deckhand CLI (real processes, real database)', () => {
  let h: Harness;
  let server: ServerType;
  let url: string;
  beforeAll(async () => {
    h = await harness();
    await h.startWorker();
    server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await h.close();
  });

  function cli(args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        ['server/cli/deckhand.mjs', ...args],
        { cwd: root, env: { PATH: process.env.PATH, DATABASE_URL: h.database.url, DECKHAND_URL: url, ...env } },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      );
      child.stdin?.end(input);
    });
  }

  it('adds a user from a password on stdin, audited, and refuses bad input readably', async () => {
    const ok = await cli(
      ['user', 'add', 'olga', '--role', 'operator', '--password-stdin'],
      {},
      'a long enough password\n',
    );
    expect(ok).toMatchObject({ code: 0, stdout: 'created olga (operator)\n' });
    const audit = await h.database.db.execute(sql`SELECT actor, action FROM audit_log WHERE subject = 'olga'`);
    expect(audit.rows).toEqual([{ actor: expect.stringMatching(/^cli:/), action: 'user.create' }]);

    const badRole = await cli(['user', 'add', 'x', '--role', 'root', '--password-stdin'], {}, 'a long enough password');
    expect(badRole.code).toBe(1);
    expect(badRole.stderr).toBe('deckhand: --role must be one of: viewer, operator, admin\n');
    const dup = await cli(
      ['user', 'add', 'olga', '--role', 'viewer', '--password-stdin'],
      {},
      'a long enough password',
    );
    expect(dup.stderr).toContain('already exists');
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command: frobnicate/);
  });

  it('creates a token that works against the API; runs, lists, watches and cancels jobs', async () => {
    const created = await cli(['token', 'create', '--user', 'olga', '--expires', '1d']);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^dh_[a-z2-7]+\.[a-z2-7]+$/);
    expect((await cli(['token', 'create', '--user', 'olga', '--expires', 'soon'])).stderr).toMatch(/--expires takes/);

    const env = { DECKHAND_TOKEN: token };
    const run = await cli(['run', 'script', 'steps', 'count=3', 'label=go', '--wait'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('line 3');
    expect(run.stderr).toContain('succeeded');
    const id = run.stdout.split('\n')[0]!;

    const jobs = await cli(['jobs', '--status', 'succeeded'], env);
    expect(jobs.stdout).toContain(id);
    const watch = await cli(['watch', id], env);
    expect(watch.code).toBe(0);

    const bad = await cli(['run', 'script', 'steps', 'count=99'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/400: invalid parameters for script steps[\s\S]*count/);

    const hang = await cli(['run', 'script', 'hang'], env);
    const hangId = hang.stdout.trim();
    const cancel = await cli(['cancel', hangId], env);
    expect(cancel.stdout.trim()).toMatch(/^cancel(led|ling)$/);
    const watched = await cli(['watch', hangId], env);
    expect(watched.code).toBe(1);
    expect(watched.stderr).toMatch(/cancelled/);
  });

  it('manages targets over the API: set from a file or stdin, list, show, remove', async () => {
    const admin = await h.user('admin');
    const env = { DECKHAND_TOKEN: admin.token };
    const spec = JSON.stringify({ manager: 'systemd', unit: 'nginx.service', env: { SECRET_TOKEN: 'zzz-secret' } });
    const set = await cli(['target', 'set', 'edge', '--file', '-'], env, spec);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      name: 'edge',
      unit: 'nginx.service',
      env: { SECRET_TOKEN: '[secret]' },
    });
    expect((await cli(['targets'], env)).stdout).toMatch(/^edge\s+systemd/);
    expect((await cli(['target', 'show', 'edge'], env)).stdout).not.toContain('zzz-secret');
    const bad = await cli(
      ['target', 'set', 'edge2', '--file', '-'],
      env,
      '{"manager":"signal","pidfile":"/root/x.pid","match":{"cmdline":"app"}}',
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/400: paths outside the managed directories[\s\S]*pidfile/);
    expect((await cli(['target', 'rm', 'edge'], env)).code).toBe(0);
    expect((await cli(['target', 'show', 'edge'], env)).stderr).toMatch(/404/);
  });

  it('says what to do when no token is set', async () => {
    const r = await cli(['jobs']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/set DECKHAND_TOKEN/);
  });
});
