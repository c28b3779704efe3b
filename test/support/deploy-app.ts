import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { eventually } from './app.ts';
import { freePort, stopChild } from './process.ts';
import { supervisordConfig } from './services.ts';

const run = promisify(execFile);

/** A tiny HTTP app (python3's http.server): `/` names its version, `/health` answers 200 unless broken. */
const appPy = (version: number, healthy: boolean) => `import os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
VERSION = "${version}"
HEALTHY = ${healthy ? 'True' : 'False'}
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            code, body = (200, "ok") if HEALTHY else (500, "broken")
        elif self.path == "/secret-length":
            code, body = 200, str(len(os.environ.get("APP_SECRET", "")))
        else:
            code, body = 200, "version " + VERSION
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *args):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
`;

/** The install step prints the secret it was given, so a test can see that output redacts it. */
const installPy = (how: 'ok' | 'fails' | 'hangs') =>
  ({
    ok: 'import os\nprint("installing; APP_SECRET is", os.environ.get("APP_SECRET"))\n',
    fails: 'import sys\nprint("install: dependency not found", file=sys.stderr)\nsys.exit(3)\n',
    hangs: 'import time\nprint("installing slowly", flush=True)\ntime.sleep(120)\n',
  })[how];

export interface AppRepo {
  path: string;
  /** Commit sha of each version: v1, v2, a v3 whose health route fails, a v4 whose install fails, a v5 whose install hangs. */
  sha: { v1: string; v2: string; badHealth: string; badInstall: string; slowInstall: string };
}

/** A real git repository with four commits of the app on `main`, each also tagged. */
export async function makeAppRepo(dir: string): Promise<AppRepo> {
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(repo);
  const git = async (...args: string[]) =>
    (
      await run('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd: repo })
    ).stdout.trim();
  await git('init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(repo, 'migrate.py'), 'print("migrating: nothing to do")\n');
  const commit = async (tag: string, version: number, healthy: boolean, installs: 'ok' | 'fails' | 'hangs') => {
    fs.writeFileSync(path.join(repo, 'app.py'), appPy(version, healthy));
    fs.writeFileSync(path.join(repo, 'install.py'), installPy(installs));
    await git('add', '.');
    await git('commit', '-q', '-m', `version ${version}`);
    await git('tag', tag);
    return git('rev-parse', 'HEAD');
  };
  return {
    path: repo,
    sha: {
      v1: await commit('v1', 1, true, 'ok'),
      v2: await commit('v2', 2, true, 'ok'),
      badHealth: await commit('bad-health', 3, false, 'ok'),
      badInstall: await commit('bad-install', 4, true, 'fails'),
      slowInstall: await commit('slow-install', 5, true, 'hangs'),
    },
  };
}

/** supervisord with no programs of its own, including `conf.d/*.conf`, where Deckhand writes the app's program. */
export async function startIncludingSupervisord(dir: string) {
  const confD = path.join(dir, 'conf.d');
  fs.mkdirSync(confD, { recursive: true });
  const config = supervisordConfig(dir, ['[include]', `files = ${confD}/*.conf`]);
  const proc = spawn('/usr/bin/supervisord', ['-c', config], { stdio: 'ignore' });
  await eventually(
    async () => (await run('supervisorctl', ['-c', config, 'pid']).catch(() => ({ stdout: '' }))).stdout.trim() !== '',
    15_000,
    'supervisord',
  );
  return { config, programFile: path.join(confD, 'app.conf'), stop: () => stopChild(proc) };
}

/** GET http://127.0.0.1:port/path: the body, or null when nothing answers. */
export function getText(port: number, urlPath = '/'): Promise<string | null> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 3000 }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve(body));
      })
      .on('error', () => resolve(null));
  });
}

/** A target spec that deploys the app repo under supervisor, on a free port. */
export async function appTargetSpec(dir: string, repo: AppRepo, sup: { config: string; programFile: string }) {
  const port = await freePort();
  return {
    port,
    spec: {
      manager: 'supervisor',
      program: 'app',
      configPath: sup.config,
      deploy: {
        repo: repo.path,
        branch: 'main',
        releasesDir: path.join(dir, 'srv', 'releases'),
        install: ['/usr/bin/python3', 'install.py'],
        migrate: ['/usr/bin/python3', 'migrate.py'],
        keep: 3,
        programFile: sup.programFile,
        command: ['/usr/bin/python3', 'app.py', String(port)],
        healthUrl: `http://127.0.0.1:${port}/health`,
        healthTimeoutSec: 5,
      },
    },
  };
}
