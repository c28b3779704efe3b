import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backupOf, restoreBackup, swapIn } from '../worker/cert-files.ts';
import {
  hasRelease,
  layoutOf,
  prepareReleasesDir,
  releaseDirOf,
  removeRelease,
  switchCurrent,
} from '../worker/releases.ts';
import { makeFreshDir } from '../worker/safe-dirs.ts';
import { OutsideManagedPathsError, SymlinkRefusedError } from '../worker/safe-fs.ts';
import { writePrivateFile } from '../worker/service-env.ts';

/** A uid and gid that are not root's, as a service account's would be. */
const NOBODY = 65534;

describe('managed files are written without following what a service account planted (real files)', () => {
  let root: string;
  let managed: string[];
  /** A directory outside the managed paths, standing for /etc or /root. */
  let outside: string;
  let certDir: string;
  let swap: { certPath: string; keyPath: string };
  /** A root-only file a planted symlink points at: it must keep its mode and content. */
  let victim: string;
  const mode = (f: string) => fs.lstatSync(f).mode & 0o777;
  const owner = (f: string) => [fs.lstatSync(f).uid, fs.lstatSync(f).gid];

  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-safe-fs-'));
    managed = [path.join(root, 'managed')];
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  beforeEach(() => {
    for (const d of ['managed', 'outside']) fs.rmSync(path.join(root, d), { recursive: true, force: true });
    outside = path.join(root, 'outside');
    certDir = path.join(root, 'managed', 'ssl');
    fs.mkdirSync(outside, { recursive: true });
    fs.mkdirSync(certDir, { recursive: true });
    swap = { certPath: path.join(certDir, 'site.pem'), keyPath: path.join(certDir, 'site.key') };
    fs.writeFileSync(swap.certPath, 'OLD CERT\n', { mode: 0o644 });
    fs.writeFileSync(swap.keyPath, 'OLD KEY\n', { mode: 0o600 });
    victim = path.join(outside, 'shadow');
    fs.writeFileSync(victim, 'root only\n', { mode: 0o600 });
  });

  it('ignores a symlink planted at the old temporary name <cert>.deckhand-new: the file it names keeps its mode and content', async () => {
    fs.symlinkSync(victim, `${swap.certPath}.deckhand-new`);
    fs.symlinkSync(victim, `${swap.keyPath}.deckhand-new`);
    await swapIn(swap, 'NEW CERT\n', 'NEW KEY\n', managed);
    expect(mode(victim)).toBe(0o600);
    expect(fs.readFileSync(victim, 'utf8')).toBe('root only\n');
    expect(fs.lstatSync(swap.certPath).isFile()).toBe(true);
    expect(fs.readFileSync(swap.certPath, 'utf8')).toBe('NEW CERT\n');
    expect(fs.readFileSync(swap.keyPath, 'utf8')).toBe('NEW KEY\n');
    // Temporary files are random and gone; the planted links are left as they were.
    expect(fs.readdirSync(certDir).sort()).toEqual(
      [
        'site.key',
        'site.key.deckhand-backup',
        'site.key.deckhand-new',
        'site.pem',
        'site.pem.deckhand-backup',
        'site.pem.deckhand-new',
      ].sort(),
    );
  });

  it('refuses a backup that is a symlink, before anything is written', async () => {
    fs.symlinkSync(victim, backupOf(swap.keyPath));
    const swapping = swapIn(swap, 'NEW CERT\n', 'NEW KEY\n', managed);
    await expect(swapping).rejects.toThrow(SymlinkRefusedError);
    await expect(swapping).rejects.toThrow(`refusing to follow a symlink at ${backupOf(swap.keyPath)}`);
    expect(fs.readFileSync(victim, 'utf8')).toBe('root only\n');
    expect(mode(victim)).toBe(0o600);
    expect(fs.readFileSync(swap.certPath, 'utf8')).toBe('OLD CERT\n');
    expect(fs.readFileSync(swap.keyPath, 'utf8')).toBe('OLD KEY\n');
    // A restore does not read a planted backup either.
    fs.writeFileSync(backupOf(swap.certPath), 'OLD CERT\n');
    await expect(restoreBackup(swap, managed)).rejects.toThrow(SymlinkRefusedError);
    expect(fs.readFileSync(swap.keyPath, 'utf8')).toBe('OLD KEY\n');
  });

  it('refuses a certificate whose directory is a symlink to outside the managed paths', async () => {
    fs.writeFileSync(path.join(outside, 'site.pem'), 'OUTSIDE CERT\n');
    fs.writeFileSync(path.join(outside, 'site.key'), 'OUTSIDE KEY\n', { mode: 0o600 });
    const linked = path.join(root, 'managed', 'linked');
    fs.symlinkSync(outside, linked);
    const viaLink = { certPath: path.join(linked, 'site.pem'), keyPath: path.join(linked, 'site.key') };
    await expect(swapIn(viaLink, 'NEW CERT\n', 'NEW KEY\n', managed)).rejects.toThrow(OutsideManagedPathsError);
    await expect(swapIn(viaLink, 'NEW CERT\n', 'NEW KEY\n', managed)).rejects.toThrow(
      `it resolves to ${path.join(outside, 'site.pem')}`,
    );
    expect(fs.readdirSync(outside).sort()).toEqual(['shadow', 'site.key', 'site.pem']);
    expect(fs.readFileSync(path.join(outside, 'site.pem'), 'utf8')).toBe('OUTSIDE CERT\n');
  });

  it('refuses a certificate path that is itself a symlink', async () => {
    fs.rmSync(swap.certPath);
    fs.symlinkSync(victim, swap.certPath);
    await expect(swapIn(swap, 'NEW CERT\n', 'NEW KEY\n', managed)).rejects.toThrow(
      `refusing to follow a symlink at ${swap.certPath}`,
    );
    expect(fs.readFileSync(victim, 'utf8')).toBe('root only\n');
    expect(fs.readFileSync(swap.keyPath, 'utf8')).toBe('OLD KEY\n');
  });

  it('keeps the owner and mode of the files it replaces, and gives the backups the same', async () => {
    fs.chownSync(swap.certPath, NOBODY, NOBODY);
    fs.chownSync(swap.keyPath, NOBODY, NOBODY);
    fs.chmodSync(swap.keyPath, 0o640);
    await swapIn(swap, 'NEW CERT\n', 'NEW KEY\n', managed);
    for (const f of [swap.certPath, swap.keyPath, backupOf(swap.certPath), backupOf(swap.keyPath)]) {
      expect(owner(f), f).toEqual([NOBODY, NOBODY]);
    }
    expect(mode(swap.certPath)).toBe(0o644);
    expect(mode(swap.keyPath)).toBe(0o640);
    expect(mode(backupOf(swap.keyPath))).toBe(0o640);
    await restoreBackup(swap, managed);
    expect(fs.readFileSync(swap.keyPath, 'utf8')).toBe('OLD KEY\n');
    expect([...owner(swap.keyPath), mode(swap.keyPath)]).toEqual([NOBODY, NOBODY, 0o640]);
  });

  it('keeps a key’s owner and group bits but never its world bits', async () => {
    fs.chmodSync(swap.keyPath, 0o644);
    await swapIn(swap, 'NEW CERT\n', 'NEW KEY\n', managed);
    expect(mode(swap.keyPath) & 0o007).toBe(0);
    expect(mode(swap.keyPath)).toBe(0o640);
  });

  it('refuses to write an environment file through a symlinked directory, or over a symlink', async () => {
    const unitDir = path.join(root, 'managed', 'app.service.d');
    fs.symlinkSync(outside, unitDir);
    await expect(writePrivateFile(path.join(unitDir, 'env.conf'), 'SECRET=1\n', managed)).rejects.toThrow(
      OutsideManagedPathsError,
    );
    expect(fs.readdirSync(outside)).toEqual(['shadow']);
    const programFile = path.join(root, 'managed', 'app.conf');
    fs.symlinkSync(victim, programFile);
    await expect(writePrivateFile(programFile, 'SECRET=1\n', managed)).rejects.toThrow(SymlinkRefusedError);
    expect(fs.readFileSync(victim, 'utf8')).toBe('root only\n');
    const fresh = path.join(root, 'managed', 'new.d', 'env.conf');
    await writePrivateFile(fresh, 'SECRET=1\n', managed);
    expect(mode(fresh)).toBe(0o600);
  });

  it('keeps releases and `current` inside the managed paths, and never writes into a planted release directory', async () => {
    const app = path.join(root, 'managed', 'app');
    fs.mkdirSync(app);
    fs.mkdirSync(path.join(outside, '20260101000000-aaaaaaa'));
    fs.symlinkSync(outside, path.join(app, 'releases'));
    const layout = layoutOf('app', { releasesDir: path.join(app, 'releases') } as never, {
      stateDir: root,
      managedPaths: managed,
    });
    await expect(removeRelease(layout, '20260101000000-aaaaaaa')).rejects.toThrow(SymlinkRefusedError);
    expect(fs.existsSync(path.join(outside, '20260101000000-aaaaaaa'))).toBe(true);
    fs.rmSync(path.join(app, 'releases'));
    fs.mkdirSync(path.join(app, 'releases'));
    // A release directory that someone created first (here a symlink) is never checked out into.
    fs.symlinkSync(outside, path.join(app, 'releases', '20260102000000-bbbbbbb'));
    await expect(makeFreshDir(path.join(app, 'releases', '20260102000000-bbbbbbb'), managed)).rejects.toThrow(
      /something is already there/,
    );
    // Pruning a planted link removes the link, not what it names.
    await removeRelease(layout, '20260102000000-bbbbbbb');
    expect(fs.readdirSync(outside).sort()).toEqual(['20260101000000-aaaaaaa', 'shadow']);
    // `current` beside a symlinked parent that leads outside is refused.
    const linkedApp = path.join(root, 'managed', 'linked-app');
    fs.symlinkSync(outside, linkedApp);
    const outsideLayout = layoutOf('app', { releasesDir: path.join(linkedApp, 'releases') } as never, {
      stateDir: root,
      managedPaths: managed,
    });
    await expect(switchCurrent(outsideLayout, '20260101000000-aaaaaaa')).rejects.toThrow(OutsideManagedPathsError);
    expect(fs.existsSync(path.join(outside, 'current'))).toBe(false);
  });

  it('checks code out only into a releases directory nobody else can write, and takes no planted link for a release', async () => {
    const app = path.join(root, 'managed', 'shop');
    const layout = layoutOf('shop', { releasesDir: path.join(app, 'releases') } as never, {
      stateDir: root,
      managedPaths: managed,
    });
    await prepareReleasesDir(layout);
    expect(fs.statSync(layout.releasesDir).uid).toBe(process.getuid!());
    fs.chownSync(layout.releasesDir, NOBODY, NOBODY);
    await expect(prepareReleasesDir(layout)).rejects.toThrow(/it belongs to uid 65534 .* not group- or world-writable/);
    fs.chownSync(layout.releasesDir, process.getuid!(), process.getgid!());
    fs.chmodSync(layout.releasesDir, 0o777);
    await expect(prepareReleasesDir(layout)).rejects.toThrow(/refusing the releases directory/);
    fs.chmodSync(layout.releasesDir, 0o755);
    await prepareReleasesDir(layout);
    fs.mkdirSync(path.join(outside, '20260103000000-ccccccc'));
    fs.symlinkSync(
      path.join(outside, '20260103000000-ccccccc'),
      path.join(layout.releasesDir, '20260103000000-ccccccc'),
    );
    fs.mkdirSync(path.join(layout.releasesDir, '20260104000000-ddddddd'));
    expect(await hasRelease(layout, '20260103000000-ccccccc')).toBe(false);
    expect(await hasRelease(layout, '20260104000000-ddddddd')).toBe(true);
    // `releases` swapped for a link to another managed directory (another app's releases) is refused too.
    const other = path.join(root, 'managed', 'other-releases');
    fs.mkdirSync(path.join(other, '20260104000000-ddddddd'), { recursive: true });
    fs.renameSync(layout.releasesDir, path.join(app, 'old-releases'));
    fs.symlinkSync(other, layout.releasesDir);
    await expect(releaseDirOf(layout, '20260105000000-eeeeeee')).rejects.toThrow(SymlinkRefusedError);
    await expect(removeRelease(layout, '20260104000000-ddddddd')).rejects.toThrow(SymlinkRefusedError);
    expect(fs.existsSync(path.join(other, '20260104000000-ddddddd'))).toBe(true);
  });
});
