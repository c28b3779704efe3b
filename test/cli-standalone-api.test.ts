import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, harness } from './support/app.ts';
import { scratchDir } from './support/services.ts';

const bundle = path.resolve(import.meta.dirname, '../dist/cli/deckhand.mjs');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The bundle's API commands beyond jobs (users, tokens, scripts, retry, targets), as an admin would use them. */
describe('the standalone CLI: users, tokens, scripts, retry and targets over the API', () => {
  let h: Harness;
  let server: ServerType;
  let home: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    h = await harness();
    await h.startWorker();
    server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => server.once('listening', r));
    home = scratchDir('cli-api-home');
    const admin = await h.user('admin', 'boss');
    env = { DECKHAND_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, DECKHAND_TOKEN: admin.token };
  });
  afterAll(async () => {
    if (server) await new Promise((r) => server.close(r));
    await h?.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  const deckhand = (args: string[], extra: Record<string, string> = {}, input?: string) =>
    new Promise<Run>((resolve) => {
      const child = execFile(
        process.execPath,
        [bundle, ...args],
        { cwd: home, env: { PATH: process.env.PATH, HOME: home, ...env, ...extra } },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      );
      child.stdin?.end(input);
    });
  const json = async (args: string[]) => {
    const r = await deckhand([...args, '--json']);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout);
  };

  it('adds a user, changes the role, disables them; lists users as a table and as JSON', async () => {
    const added = await deckhand(
      ['users', 'add', 'carol', '--role', 'viewer', '--password-stdin'],
      {},
      'a long password!\n',
    );
    expect(added).toMatchObject({ code: 0, stdout: 'created carol: viewer, enabled\n' });
    const role = await deckhand(['users', 'role', 'carol', 'operator']);
    expect(role.stdout).toBe('carol: operator, enabled; 0 session(s) ended\n');
    expect((await deckhand(['users', 'disable', 'carol'])).code).toBe(0);
    const users = await json(['users']);
    expect(users.items).toContainEqual(
      expect.objectContaining({ username: 'carol', role: 'operator', disabled: true }),
    );
    expect((await deckhand(['users'])).stdout).toMatch(
      /^USER\s+ROLE\s+STATE\s+CREATED\n[\s\S]*carol\s+operator\s+disabled/,
    );

    const noRole = await deckhand(['users', 'add', 'dave', '--password-stdin'], {}, 'a long password!');
    expect(noRole).toMatchObject({ code: 2, stderr: 'deckhand: users add needs --role viewer|operator|admin\n' });
    const short = await deckhand(['users', 'add', 'dave', '--role', 'viewer', '--password-stdin'], {}, 'short');
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/^deckhand: 400: invalid user\n[\s\S]*password/);
  });

  it('lists tokens and revokes one, after which it is refused with a hint to log in again', async () => {
    const victim = await h.user('viewer', 'leaky');
    const id = victim.token.slice(3).split('.')[0]!;
    const tokens = await json(['tokens', '--user', 'leaky']);
    expect(tokens.items).toEqual([expect.objectContaining({ id, user: 'leaky', revokedAt: null })]);
    expect((await deckhand(['tokens', 'revoke', id])).stdout).toBe(`revoked token ${id}\n`);
    expect((await deckhand(['tokens', '--user', 'leaky'])).stdout).toMatch(new RegExp(`${id}\\s+leaky.*revoked$`, 'm'));
    const refused = await deckhand(['jobs'], { DECKHAND_TOKEN: victim.token });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'deckhand: 401: invalid or expired token\nthe token is wrong, expired or revoked: run `deckhand login URL` again, or set DECKHAND_TOKEN\n',
    );
  });

  it('lists scripts, retries a failed job, and shows and removes a target', async () => {
    expect((await json(['scripts'])).items.map((s: { name: string }) => s.name)).toContain('steps');
    const failed = await deckhand(['run', 'script', 'fail', '--wait', '--json']);
    expect(failed.code).toBe(1);
    const job = JSON.parse(failed.stdout);
    expect(job).toMatchObject({
      status: 'failed',
      output: expect.arrayContaining([{ stream: 'stderr', text: expect.stringContaining('something broke') }]),
    });
    const again = await deckhand(['retry', job.id, '--wait', '--json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'failed', script: 'fail' });
    expect(JSON.parse(again.stdout).id).not.toBe(job.id);
    expect(await json(['job', job.id])).toMatchObject({ id: job.id, status: 'failed' });

    const spec = JSON.stringify({ manager: 'systemd', unit: 'nginx.service' });
    expect((await deckhand(['target', 'set', 'edge', '--file', '-'], {}, spec)).code).toBe(0);
    expect(await json(['target', 'show', 'edge'])).toMatchObject({ name: 'edge', manager: 'systemd' });
    expect(await json(['target', 'rm', 'edge'])).toEqual({ name: 'edge', deleted: true });
    const gone = await deckhand(['target', 'show', 'edge']);
    expect(gone).toMatchObject({ code: 1, stderr: expect.stringMatching(/^deckhand: 404: target not found/) });
  });
});
