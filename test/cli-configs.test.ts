import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, eventually, type Harness, harness, type TestUser } from './support/app.ts';
import { appServer, type NginxSites, startNginxSites } from './support/nginx-sites.ts';
import { scratchDir } from './support/services.ts';

const root = path.resolve(import.meta.dirname, '..');

describe('deckhand config ls|show|edit|apply|history|restore against a real nginx', () => {
  let h: Harness;
  let server: ServerType;
  let url: string;
  let admin: TestUser;
  let nginx: NginxSites;
  let dir: string;

  beforeAll(async () => {
    dir = scratchDir('cli-configs');
    nginx = await startNginxSites(dir);
    h = await harness();
    await h.startWorker();
    admin = await h.user('admin');
    const r = await api(h, admin, 'PUT', '/api/targets/edge', {
      manager: 'systemd',
      unit: 'nginx.service',
      healthUrl: `http://127.0.0.1:${nginx.port}/health`,
      configs: { kind: 'nginx', main: nginx.main, files: [`${dir}/conf.d/*.conf`] },
    });
    expect(r.status, r.text).toBe(201);
    server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    if (server) await new Promise((r) => server.close(r));
    await nginx?.stop();
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['server/cli/deckhand.mjs', ...args],
        {
          cwd: root,
          env: {
            PATH: process.env.PATH,
            DATABASE_URL: h.database.url,
            DECKHAND_URL: url,
            DECKHAND_TOKEN: admin.token,
            ...env,
          },
        },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      );
    });
  const served = (body: string) =>
    eventually(async () => (await nginx.get(nginx.port))?.body === body, 10_000, `nginx to serve ${body}`);

  it('lists, shows, applies from a file, edits in $EDITOR, shows the history and restores a version', async () => {
    const ls = await cli(['config', 'ls', 'edge']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.split(/\s+/)).toEqual(['-', 'ok', nginx.appConf, '']);
    const show = await cli(['config', 'show', 'edge', nginx.appConf]);
    expect(show.stdout).toBe(appServer(nginx.port, 'v1'));

    const candidate = path.join(dir, 'candidate.conf');
    fs.writeFileSync(candidate, appServer(nginx.port, 'from-cli'));
    const noComment = await cli(['config', 'apply', 'edge', nginx.appConf, '--file', candidate]);
    expect(noComment).toMatchObject({ code: 1, stderr: 'deckhand: say why with -m COMMENT\n' });
    const applied = await cli(['config', 'apply', 'edge', nginx.appConf, '--file', candidate, '-m', 'cli', '--wait']);
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);
    await served('from-cli');

    // $EDITOR is run on a private copy, with its arguments, never through a shell.
    const editor = path.join(dir, 'editor.mjs');
    fs.writeFileSync(
      editor,
      "import fs from 'node:fs';\nconst f = process.argv.at(-1);\nfs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('from-cli', process.argv[2]));\n",
    );
    const edited = await cli(['config', 'edit', 'edge', nginx.appConf, '-m', 'edited', '--wait'], {
      EDITOR: `${process.execPath} ${editor} from-editor`,
    });
    expect(edited.code, edited.stderr + edited.stdout).toBe(0);
    await served('from-editor');

    const history = await cli(['config', 'history', 'edge', nginx.appConf]);
    expect(history.stdout).toMatch(/^v2 .* edited\n/);
    expect(history.stdout).toContain('+  location / { return 200 "from-editor"; }');

    const restored = await cli(['config', 'restore', 'edge', nginx.appConf, '1', '-m', 'back', '--wait']);
    expect(restored.code, restored.stderr + restored.stdout).toBe(0);
    await served('from-cli');
    const tested = await cli([
      'config',
      'apply',
      'edge',
      nginx.appConf,
      '--file',
      editor,
      '-m',
      't',
      '--test',
      '--wait',
    ]);
    expect(tested.code).toBe(1);
    expect(fs.readFileSync(nginx.appConf, 'utf8')).toBe(appServer(nginx.port, 'from-cli'));
  });
});
