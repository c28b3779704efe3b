import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layoutOf, prepareReleasesDir, releaseDirOf, removeRelease } from '../worker/releases.ts';

/**
 * A service account that owns the directory above `releases/` can swap `releases` for a link while
 * root deletes an old release. A removal that walks the tree by path then lists and unlinks
 * whatever the link leads to: here a directory outside the managed paths whose files share names
 * with the release's (the app's own repository decides those names).
 */
const RELEASE = '20260101000000-aaaaaaa';
const DIRS = 40;
const FILES = 200;

/** Waits until root has started on the release, then swaps `releases` for a link, once. */
const ATTACKER = `
const fs = require('node:fs');
const [releases, decoy] = process.argv.slice(1);
const started = releases + '/${RELEASE}/d1/g0';
const until = Date.now() + 20000;
process.send('ready');
while (fs.existsSync(started) && Date.now() < until) {}
fs.renameSync(releases, releases + '.moved');
fs.symlinkSync(decoy, releases);
process.send('swapped');
`;

describe('removing a release never follows a swap of the directories above it', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-release-race-'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('leaves a directory outside the managed paths alone when `releases` becomes a link mid-removal', async () => {
    const managed = path.join(root, 'managed');
    const app = path.join(managed, 'shop');
    const releases = path.join(app, 'releases');
    const victim = path.join(root, 'outside');
    const decoy = path.join(app, 'decoy');
    fs.mkdirSync(victim, { recursive: true });
    for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(victim, `g${i}`), 'root only\n');
    for (let d = 0; d < DIRS; d++) {
      const dir = path.join(releases, RELEASE, `d${d}`);
      fs.mkdirSync(dir, { recursive: true });
      for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(dir, `g${i}`), 'release file\n');
    }
    fs.mkdirSync(path.join(decoy, RELEASE), { recursive: true });
    for (let d = 0; d < DIRS; d++) fs.symlinkSync(victim, path.join(decoy, RELEASE, `d${d}`));

    const attacker = spawn(process.execPath, ['-e', ATTACKER, releases, decoy], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    try {
      const messages: string[] = [];
      const swapped = new Promise<void>((resolve) =>
        attacker.on('message', (m) => {
          messages.push(String(m));
          if (m === 'swapped') resolve();
        }),
      );
      await new Promise<void>((resolve) => attacker.once('message', () => resolve()));
      const layout = layoutOf('shop', { releasesDir: releases } as never, { stateDir: root, managedPaths: [managed] });
      await removeRelease(layout, RELEASE).catch(() => {}); // a refusal is fine; deleting outside is not
      await swapped;
      expect(messages).toContain('swapped');
    } finally {
      attacker.kill('SIGKILL');
    }
    expect(fs.readdirSync(victim).length).toBe(FILES);
  });
});

describe('the releases directory sits only under directories nobody else can write', () => {
  const NOBODY = 65534;
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-release-parents-'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('refuses releases/ in a directory a service account owns or a group can write: it could swap releases/ for a link while root checks out and builds there', async () => {
    const managed = path.join(root, 'managed');
    const app = path.join(managed, 'shop');
    const layout = layoutOf('shop', { releasesDir: path.join(app, 'releases') } as never, {
      stateDir: root,
      managedPaths: [managed],
    });
    await prepareReleasesDir(layout);
    expect(await releaseDirOf(layout, RELEASE)).toBe(path.join(app, 'releases', RELEASE));
    fs.chownSync(app, NOBODY, NOBODY);
    await expect(prepareReleasesDir(layout)).rejects.toThrow(`${app} belongs to uid ${NOBODY}`);
    await expect(releaseDirOf(layout, RELEASE)).rejects.toThrow(`${app} belongs to uid ${NOBODY}`);
    fs.chownSync(app, process.getuid!(), process.getgid!());
    fs.chmodSync(app, 0o775);
    await expect(releaseDirOf(layout, RELEASE)).rejects.toThrow(`${app} is writable by group or others`);
    // A sticky directory (such as /tmp) is fine: nobody but an entry's owner can rename it.
    fs.chmodSync(app, 0o1777);
    expect(await releaseDirOf(layout, RELEASE)).toBe(path.join(app, 'releases', RELEASE));
  });
});
