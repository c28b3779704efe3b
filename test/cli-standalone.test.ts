import { execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, harness, type TestUser } from './support/app.ts';
import { freePort } from './support/process.ts';
import { makeChain, scratchDir } from './support/services.ts';

const run = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const listening = async (server: ServerType) => {
  await new Promise((r) => server.once('listening', r));
  return (server.address() as AddressInfo).port;
};
const closed = (server: ServerType | undefined) => server && new Promise((r) => server.close(r));

/**
 * A laptop: a directory with nothing but the CLI downloaded from a running Deckhand, a HOME of its
 * own, and plain `node`. No node_modules anywhere above it, no repository.
 */
describe('the standalone CLI, downloaded from the server and run with plain node', () => {
  let h: Harness;
  let server: ServerType;
  let tlsServer: ServerType;
  let url: string;
  let tlsUrl: string;
  let laptop: string;
  let home: string;
  let bin: string;
  let caFile: string;
  let operator: TestUser;

  beforeAll(async () => {
    h = await harness();
    await h.startWorker();
    operator = await h.user('operator', 'laptop-op');
    server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${await listening(server)}`;

    laptop = scratchDir('laptop');
    home = path.join(laptop, 'home');
    fs.mkdirSync(home);
    const chain = await makeChain(laptop, '127.0.0.1');
    caFile = path.join(laptop, 'root.crt');
    tlsServer = serve({
      fetch: h.app.fetch,
      hostname: '127.0.0.1',
      port: 0,
      createServer: https.createServer,
      serverOptions: { key: chain.key, cert: chain.leaf + chain.intermediate },
    });
    tlsUrl = `https://127.0.0.1:${await listening(tlsServer)}`;
  });

  afterAll(async () => {
    await closed(server);
    await closed(tlsServer);
    await h?.close();
    if (laptop) fs.rmSync(laptop, { recursive: true, force: true });
  });

  function deckhand(args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [bin, ...args],
        { cwd: laptop, env: { PATH: process.env.PATH, HOME: home, ...env } },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      );
      child.stdin?.end(input);
    });
  }
  const configFile = () => path.join(home, '.config/deckhand/config.json');
  const noStack = (r: Run) => expect(r.stderr).not.toMatch(/\n\s+at /);

  it('is served at /cli/deckhand.mjs as one file that needs only Node', async () => {
    const res = await fetch(`${url}/cli/deckhand.mjs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    const text = await res.text();
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    const imports = [...text.matchAll(/\bfrom\s+"([^"]+)"|\bimport\(\s*"([^"]+)"/g)].map((m) => m[1] ?? m[2]);
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((i) => !i!.startsWith('node:'))).toEqual([]);

    bin = path.join(laptop, 'deckhand');
    fs.writeFileSync(bin, text, { mode: 0o755 });
    for (let dir = laptop; dir !== path.dirname(dir); dir = path.dirname(dir)) {
      expect(fs.existsSync(path.join(dir, 'node_modules')), dir).toBe(false);
    }
    const help = await deckhand(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('login URL');
  });

  it('logs in with a token on stdin into a 0600 config in a 0700 directory, and later commands use it', async () => {
    const bad = await deckhand(['login', url, '--token-stdin'], {}, 'dh_nope.nope\n');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^deckhand: 401: invalid or expired token\n.*deckhand login/);
    expect(fs.existsSync(configFile())).toBe(false);

    const ok = await deckhand(['login', `${url}/`, '--token-stdin'], {}, `${operator.token}\n`);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toBe(''); // plain http to this machine's loopback: nothing crosses a network
    expect(ok.stdout).toBe(`logged in to ${url}; saved in ${configFile()}\n`);
    expect(fs.statSync(configFile()).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(configFile())).mode & 0o777).toBe(0o700);
    expect(JSON.parse(fs.readFileSync(configFile(), 'utf8'))).toEqual({ url, token: operator.token });

    const jobs = await deckhand(['jobs', '--json']);
    expect(jobs.code, jobs.stderr).toBe(0);
    expect(JSON.parse(jobs.stdout)).toMatchObject({ items: expect.any(Array) });
    expect(jobs.stderr).toBe('');

    // A token file others may read still works, but is said so with the fix, as ssh says of a key.
    fs.chmodSync(configFile(), 0o644);
    const exposed = await deckhand(['jobs', '--json']);
    expect(exposed.code, exposed.stderr).toBe(0);
    expect(exposed.stderr).toBe(
      `deckhand: warning: ${configFile()} holds your API token and is mode 0644: other users may read it; ` +
        `run chmod 600 ${configFile()} (or deckhand login again)\n`,
    );
    fs.chmodSync(configFile(), 0o600);

    // XDG_CONFIG_HOME moves the config; nothing there means no token.
    const xdg = path.join(laptop, 'xdg');
    const elsewhere = await deckhand(
      ['login', url, '--token-stdin', '--json'],
      { XDG_CONFIG_HOME: xdg },
      operator.token,
    );
    expect(JSON.parse(elsewhere.stdout)).toEqual({ url, configFile: path.join(xdg, 'deckhand/config.json') });
    expect(fs.statSync(path.join(xdg, 'deckhand/config.json')).mode & 0o777).toBe(0o600);
    const blocked = await deckhand(['login', url, '--token-stdin'], { XDG_CONFIG_HOME: bin }, operator.token);
    expect(blocked).toMatchObject({
      code: 1,
      stderr: `deckhand: cannot save the login in ${bin}/deckhand/config.json: ENOTDIR\n`,
    });
  });

  it('runs a script and watches it, with --json answers that parse', async () => {
    const ran = await deckhand(['run', 'script', 'steps', 'count=2', 'label=laptop', '--wait']);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toContain('line 2');
    expect(ran.stderr).toContain('succeeded');
    const id = ran.stdout.split('\n')[0]!;

    const watched = JSON.parse((await deckhand(['watch', id, '--json'])).stdout);
    expect(watched).toMatchObject({ id, status: 'succeeded', requestedBy: 'laptop-op' });
    expect(watched.output.map((c: { text: string }) => c.text).join('')).toContain('line 2');

    const submitted = JSON.parse((await deckhand(['run', 'script', 'steps', 'count=1', '--json'])).stdout);
    expect(submitted).toMatchObject({ id: expect.any(String), status: 'queued', url: `/api/jobs/${submitted.id}` });
    const jobs = JSON.parse((await deckhand(['jobs', '--json', '--limit', '5'])).stdout);
    expect(jobs.items.map((j: { id: string }) => j.id)).toContain(id);
    const targets = JSON.parse((await deckhand(['targets', '--json'])).stdout);
    expect(targets).toEqual({ items: expect.any(Array) });
  });

  it('lets DECKHAND_URL and DECKHAND_TOKEN override the saved login, and explains refusals', async () => {
    const viewer = await h.user('viewer');
    const refused = await deckhand(['run', 'script', 'steps', 'count=1'], { DECKHAND_TOKEN: viewer.token });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^deckhand: 403: this needs the operator role\n/);
    noStack(refused);

    // Another server never gets the saved token: with only DECKHAND_URL set, there is none.
    const other = await deckhand(['jobs'], { DECKHAND_URL: 'http://127.0.0.1:9' });
    expect(other.stderr).toMatch(/^deckhand: no API token: run `deckhand login URL`, or set DECKHAND_TOKEN/);

    const port = await freePort();
    const down = await deckhand(['jobs'], { DECKHAND_URL: `http://127.0.0.1:${port}`, DECKHAND_TOKEN: 'x' });
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(
      `deckhand: cannot reach Deckhand at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
    // Plain http to another host: warned before the token is read (the name does not resolve; nothing is saved).
    const clear = await deckhand(['login', 'http://deckhand.invalid', '--token-stdin'], {}, 'x');
    expect(clear.code).toBe(1);
    expect(clear.stderr).toMatch(
      /^deckhand: warning: http:\/\/deckhand\.invalid is plain http: the token and every answer cross the network unencrypted; use https:\/\/.*\ndeckhand: cannot reach Deckhand at http:\/\/deckhand\.invalid/,
    );
    const typo = await deckhand(['login', 'deckhand.example.com', '--token-stdin'], {}, 'x');
    expect(typo).toMatchObject({ code: 2, stderr: expect.stringMatching(/"deckhand.example.com" is not a URL/) });
    const flag = await deckhand(['jobs', '--frobnicate']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^deckhand: Unknown option '--frobnicate'/);
    noStack(flag);
    expect(await deckhand(['frobnicate'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/unknown command: frobnicate/),
    });
    const host = await deckhand(['user', 'add', 'x', '--role', 'viewer', '--password-stdin'], {}, 'x');
    expect(host.code).toBe(2);
    expect(host.stderr).toMatch(/^deckhand: deckhand user works on the Deckhand host.*server install/);
  });

  it('trusts a private CA with --ca, saved by login, and says what to do without it', async () => {
    const env = { DECKHAND_URL: tlsUrl, DECKHAND_TOKEN: operator.token };
    const untrusted = await deckhand(['jobs'], env);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/^deckhand: cannot reach Deckhand at https:.*certificate.*\npass --ca FILE/);
    noStack(untrusted);
    const trusted = await deckhand(['jobs', '--json', '--ca', caFile], env);
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(JSON.parse(trusted.stdout).items).toEqual(expect.any(Array));
    expect((await deckhand(['jobs'], { ...env, DECKHAND_CA: caFile })).code).toBe(0);
    const notPem = await deckhand(['jobs', '--ca', bin], env);
    expect(notPem).toMatchObject({ code: 2, stderr: `deckhand: ${bin} is not a PEM certificate\n` });

    const login = await deckhand(['login', tlsUrl, '--token-stdin', '--ca', caFile], {}, operator.token);
    expect(login.code, login.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(configFile(), 'utf8')).ca).toBe(fs.readFileSync(caFile, 'utf8'));
    const saved = await deckhand(['jobs', '--json']);
    expect(saved.code, saved.stderr).toBe(0);
    expect(JSON.parse(saved.stdout).items.length).toBeGreaterThan(0);

    const out = await deckhand(['logout']);
    expect(out.stdout).toBe(`logged out; removed ${configFile()}\n`);
    expect(fs.existsSync(configFile())).toBe(false);
    expect((await deckhand(['jobs'])).stderr).toMatch(/no API token/);
  });

  it('prints bash and zsh completion scripts that the shells accept and that complete commands and flags', async () => {
    const bash = (await deckhand(['completion', 'bash'])).stdout;
    const zsh = (await deckhand(['completion', 'zsh'])).stdout;
    const bashFile = path.join(laptop, 'deckhand.bash');
    const zshFile = path.join(laptop, '_deckhand');
    fs.writeFileSync(bashFile, bash);
    fs.writeFileSync(zshFile, zsh);
    await run('bash', ['-n', bashFile]);
    await run('zsh', ['-n', zshFile]);

    const complete = async (...words: string[]) => {
      const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _deckhand; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return (await run('bash', ['-c', script, 'complete', bashFile, ...words])).stdout.trim().split('\n');
    };
    expect(await complete('deckhand', 'targ')).toEqual(['targets', 'target']);
    expect(await complete('deckhand', 'target', '')).toEqual(['show', 'set', 'rm', 'unlock']);
    expect(await complete('deckhand', 'run', '--w')).toEqual(['--wait']);
    expect(await complete('deckhand', 'logs', 'web', '--j')).toEqual(['--json']);
    expect(await complete('deckhand', 'mig')).toEqual(['']); // host-side: not in the standalone CLI

    // zsh registers the function for deckhand once compinit has run.
    const zdot = path.join(laptop, 'zdot');
    fs.mkdirSync(zdot);
    const registered = await run(
      'zsh',
      [
        '-f',
        '-c',
        'autoload -Uz compinit && compinit -u -d "$1/.zcompdump" && source "$2" && print -r -- $_comps[deckhand]',
        'z',
        zdot,
        zshFile,
      ],
      { env: { PATH: process.env.PATH, HOME: zdot } },
    );
    expect(registered.stdout.trim()).toBe('_deckhand');
    const unknown = await deckhand(['completion', 'fish']);
    expect(unknown).toMatchObject({ code: 2, stderr: 'deckhand: usage: deckhand completion bash|zsh\n' });
  });
});
