import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, eventually, type Harness, harness } from './support/app.ts';
import { type LoggingNginx, nginxTarget, startLoggingNginx } from './support/nginx-logs.ts';
import { stopChild } from './support/process.ts';
import { scratchDir } from './support/services.ts';

const root = path.resolve(import.meta.dirname, '..');

describe('deckhand logs (the CLI over the API, a real nginx log)', () => {
  let h: Harness;
  let server: ServerType;
  let nginx: LoggingNginx;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = scratchDir('cli-logs');
    h = await harness({ env: { DECKHAND_LOG_PATHS: dir } });
    await h.startWorker();
    nginx = await startLoggingNginx(dir);
    const admin = await h.user('admin');
    const put = await api(
      h,
      admin,
      'PUT',
      '/api/targets/edge',
      nginxTarget(dir, [
        { name: 'access', file: nginx.access },
        { name: 'error', file: nginx.error },
      ]),
    );
    expect(put.status, put.text).toBe(201);
    for (let i = 0; i < 5; i++) await nginx.get(`/ok/c${i}`);
    await eventually(async () => fs.readFileSync(nginx.access, 'utf8').includes('/ok/c4 '));
    server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => server.once('listening', r));
    const viewer = await h.user('viewer');
    env = {
      PATH: process.env.PATH ?? '',
      DECKHAND_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      DECKHAND_TOKEN: viewer.token,
    };
  });
  afterAll(async () => {
    if (server) await new Promise((r) => server.close(r));
    await nginx?.stop();
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['server/cli/deckhand.mjs', ...args], { cwd: root, env }, (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      );
    });
  const paths = (out: string) =>
    out
      .trim()
      .split('\n')
      .map((l) => /"GET (\S+)/.exec(l)?.[1]);

  it('prints the newest lines oldest first, of the first source by default, with -n and a --grep regex', async () => {
    const tail = await cli(['logs', 'edge', '-n', '3']);
    expect(tail.code, tail.stderr).toBe(0);
    expect(paths(tail.stdout)).toEqual(['/ok/c2', '/ok/c3', '/ok/c4']);
    const grep = await cli(['logs', 'edge', '--source', 'access', '--grep', 'c[13] ', '--since', '1h']);
    expect(paths(grep.stdout)).toEqual(['/ok/c1', '/ok/c3']);
    const json = JSON.parse((await cli(['logs', 'edge', '-n', '2', '--json'])).stdout);
    expect(json).toMatchObject({ source: 'access', lines: [{ text: expect.stringContaining('/ok/c4') }, {}] });
    const bad = await cli(['logs', 'edge', '--since', 'last tuesday']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('since');
  });

  it('-f prints lines as nginx writes them, until stopped', async () => {
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, ['server/cli/deckhand.mjs', 'logs', 'edge', '-n', '1', '-f'], { cwd: root, env });
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
      });
      await eventually(async () => out.includes('/ok/c4'));
      await nginx.get('/ok/followed-by-cli');
      await eventually(async () => out.includes('/ok/followed-by-cli'));
      expect(paths(out)).toEqual(['/ok/c4', '/ok/followed-by-cli']);
    } finally {
      if (child) await stopChild(child);
    }
  });
});
