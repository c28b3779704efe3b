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

  it('changes passwords and roles, disables and enables users, ending their sessions', async () => {
    const u = await h.user('operator', 'cliuser');
    const get = (cookie: string) => h.app.request('/api/jobs', { headers: { Cookie: cookie } });
    const passwd = await cli(['user', 'passwd', 'cliuser', '--password-stdin'], {}, 'another long password\n');
    expect(passwd).toMatchObject({ code: 0, stdout: 'cliuser: operator, enabled; 1 session(s) ended\n' });
    expect((await get(u.cookie)).status).toBe(401);
    const login = (password: string) =>
      h.app.request('http://localhost/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://localhost' },
        body: new URLSearchParams({ username: 'cliuser', password }).toString(),
      });
    expect((await login('another long password')).status).toBe(303);
    expect((await cli(['user', 'passwd', 'cliuser', '--password-stdin'], {}, 'short')).stderr).toMatch(/12 characters/);

    const role = await cli(['user', 'role', 'cliuser', 'viewer']);
    expect(role.stdout).toMatch(/^cliuser: viewer, enabled; 1 session\(s\) ended/);
    expect((await cli(['user', 'role', 'cliuser', 'root'])).stderr).toMatch(/--role must be one of/);
    expect((await cli(['user', 'role', 'nobody', 'viewer'])).stderr).toBe('deckhand: no user named nobody\n');

    const env = { DECKHAND_TOKEN: u.token };
    expect((await cli(['user', 'disable', 'cliuser'])).code).toBe(0);
    expect((await cli(['jobs'], env)).stderr).toMatch(/401/);
    expect((await login('another long password')).status).toBe(403);
    expect((await cli(['user', 'enable', 'cliuser'])).code).toBe(0);
    expect((await cli(['jobs'], env)).code).toBe(0);
    const audit = await h.database.db.execute(
      sql`SELECT details FROM audit_log WHERE subject = 'cliuser' AND action = 'user.update' ORDER BY id`,
    );
    expect(audit.rows.map((r) => r.details)).toEqual([
      { password: 'changed', sessionsEnded: 1 },
      { role: 'viewer', previousRole: 'operator', sessionsEnded: 1 },
      { disabled: true, sessionsEnded: 0 },
      { disabled: false, sessionsEnded: 0 },
    ]);
  });

  it('lists and revokes tokens; a new token expires in 90 days unless told otherwise', async () => {
    await h.user('viewer', 'tokenuser');
    const token = (await cli(['token', 'create', '--user', 'tokenuser'])).stdout.trim();
    const id = token.slice(3).split('.')[0]!;
    const expires = await h.database.db.execute(
      sql`SELECT round(extract(epoch FROM expires_at - now()) / 86400) AS days FROM api_tokens WHERE id = ${id}`,
    );
    expect(Number(expires.rows[0]!.days)).toBe(90);
    const env = { DECKHAND_TOKEN: token };
    expect((await cli(['jobs'], env)).code).toBe(0);

    const list = await cli(['token', 'list', '--user', 'tokenuser']);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+USER\s+CREATED\s+EXPIRES\s+LAST USED\s+STATE$/);
    expect(lines.slice(1).filter((l) => l.startsWith(id))).toHaveLength(1);
    const row = lines.find((l) => l.startsWith(id))!;
    expect(row).toMatch(/tokenuser .* active$/);
    expect(row).not.toMatch(/never\s+active$/); // it was used just now
    expect(list.stdout).not.toContain(token.split('.')[1]);
    expect((await cli(['token', 'list'])).stdout).toContain('olga');
    const listed = JSON.parse((await cli(['token', 'list', '--user', 'tokenuser', '--json'])).stdout);
    expect(listed.items).toContainEqual(expect.objectContaining({ id, user: 'tokenuser', revokedAt: null }));
    const made = JSON.parse((await cli(['token', 'create', '--user', 'olga', '--expires', '1d', '--json'])).stdout);
    expect(made).toMatchObject({ user: 'olga', token: expect.stringMatching(/^dh_/), expiresAt: expect.any(String) });

    expect((await cli(['token', 'revoke', id])).stdout).toBe(`revoked token ${id} of tokenuser\n`);
    expect((await cli(['jobs'], env)).stderr).toMatch(/401/);
    expect((await cli(['token', 'list', '--user', 'tokenuser'])).stdout).toMatch(new RegExp(`${id}.*revoked`));
    expect((await cli(['token', 'revoke', 'nosuchtoken'])).stderr).toMatch(/no token/);
    expect((await cli(['token', 'create', '--user', 'tokenuser', '--expires', '0d'])).stderr).toMatch(
      /--expires takes/,
    );
    const audit = await h.database.db.execute(
      sql`SELECT action, details::text AS d FROM audit_log WHERE subject = 'tokenuser' ORDER BY id`,
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['token.create', 'token.revoke']);
    expect(audit.rows.map((r) => r.d).join()).not.toContain(token.split('.')[1]);
  });

  it('says what to do when no token is set', async () => {
    const r = await cli(['jobs']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/set DECKHAND_TOKEN/);
  });
});
