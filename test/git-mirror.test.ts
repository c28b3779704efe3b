import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type Harness, harness, type TestUser, waitForStatus } from './support/app.ts';
import { type AppRepo, appTargetSpec, getText, makeAppRepo, startIncludingSupervisord } from './support/deploy-app.ts';
import { scratchDir } from './support/services.ts';

/** Hooks git would run during a fetch or a checkout, had it been allowed to. */
const HOOKS = ['reference-transaction', 'post-checkout', 'post-index-change', 'pre-auto-gc', 'post-merge'];

/** Writes executable hooks into `hooksDir` that leave `marker` behind when run. */
function plantHooks(hooksDir: string, marker: string) {
  fs.mkdirSync(hooksDir, { recursive: true });
  for (const hook of HOOKS) {
    fs.writeFileSync(path.join(hooksDir, hook), `#!/bin/sh\necho "$0 ran as $(id -u)" >> '${marker}'\n`, {
      mode: 0o755,
    });
  }
}

describe('deploys run git on a private mirror with hooks and outside config disabled (real git and supervisor)', () => {
  let h: Harness;
  let admin: TestUser;
  let dir: string;
  let repo: AppRepo;
  let sup: Awaited<ReturnType<typeof startIncludingSupervisord>>;
  let port: number;
  const mirror = () => path.join(h.config.DECKHAND_DATA_DIR, 'mirrors', 'app.git');
  const marker = () => path.join(dir, 'hook-ran');
  async function deploy(ref: string) {
    const res = await api(h, admin, 'POST', '/api/jobs', { kind: 'deploy', target: 'app', ref });
    expect(res.status, res.text).toBe(202);
    return waitForStatus(h, admin, res.json.id, ['succeeded', 'failed', 'cancelled', 'lost'], 60_000);
  }

  beforeAll(async () => {
    h = await harness();
    admin = await h.user('admin');
    await h.startWorker();
    dir = scratchDir('git-mirror');
    repo = await makeAppRepo(dir);
    sup = await startIncludingSupervisord(dir);
    const target = await appTargetSpec(dir, repo, sup);
    port = target.port;
    const put = await api(h, admin, 'PUT', '/api/targets/app', target.spec);
    expect(put.status, put.text).toBe(201);
  });
  afterAll(async () => {
    await sup?.stop();
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs no hook: neither one planted in the old mirror beside the releases, nor one in its own mirror or named by its config', async () => {
    // Where earlier versions kept the mirror: inside the target's tree, writable by the app's user.
    const oldMirror = path.join(dir, 'srv', '.deckhand-git');
    fs.mkdirSync(path.join(oldMirror, 'refs'), { recursive: true });
    plantHooks(path.join(oldMirror, 'hooks'), marker());
    // Any hook in Deckhand's own mirror, and a config that points hooks elsewhere, stand for everything else.
    fs.mkdirSync(mirror(), { recursive: true, mode: 0o755 });
    fs.chmodSync(path.dirname(mirror()), 0o755);
    fs.chmodSync(mirror(), 0o755);
    plantHooks(path.join(mirror(), 'hooks'), marker());
    plantHooks(path.join(dir, 'elsewhere-hooks'), marker());
    fs.writeFileSync(
      path.join(mirror(), 'config'),
      `[core]\n\trepositoryformatversion = 0\n\tbare = true\n\thooksPath = ${path.join(dir, 'elsewhere-hooks')}\n`,
    );

    const first = await deploy(repo.sha.v1);
    expect(first.status, first.error).toBe('succeeded');
    const second = await deploy('v2');
    expect(second.status, second.error).toBe('succeeded');
    expect(await getText(port)).toBe('version 2');
    expect(fs.existsSync(marker()) ? fs.readFileSync(marker(), 'utf8') : 'no hook ran').toBe('no hook ran');
  });

  it('keeps the mirror in Deckhand’s own state directory, owned by the worker’s user and mode 0700, never in the target’s tree', () => {
    for (const d of [mirror(), path.dirname(mirror())]) {
      const st = fs.lstatSync(d);
      expect(st.isDirectory(), d).toBe(true);
      expect(st.uid, d).toBe(process.getuid!());
      expect(st.mode & 0o777, d).toBe(0o700);
    }
    expect(fs.existsSync(path.join(mirror(), 'refs', 'tags', 'v2'))).toBe(true);
    expect(path.relative(dir, mirror()).startsWith('..')).toBe(true);
    // The releases are plain files: no .git that git could later read config or hooks from.
    const releases = fs.readdirSync(path.join(dir, 'srv', 'releases'));
    expect(releases.length).toBeGreaterThan(0);
    for (const r of releases) expect(fs.existsSync(path.join(dir, 'srv', 'releases', r, '.git'))).toBe(false);
  });

  it('refuses a mirror that someone else owns, with a clear message, and leaves the live release alone', async () => {
    const live = fs.readlinkSync(path.join(dir, 'srv', 'current'));
    fs.chownSync(mirror(), 65534, 65534);
    try {
      const job = await deploy(repo.sha.v1);
      expect(job.status).toBe('failed');
      expect(job.error).toContain(`refusing ${mirror()}: it belongs to uid 65534`);
      expect(fs.readlinkSync(path.join(dir, 'srv', 'current'))).toBe(live);
    } finally {
      fs.chownSync(mirror(), process.getuid!(), process.getgid!());
    }
  });
});
