import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import type { HostFigures, MountFigures } from '../../db/status-shapes.ts';

/** Filesystems that hold no disk space of their own (kernel views, memory, bind helpers). */
const PSEUDO = new Set([
  'proc',
  'sysfs',
  'devtmpfs',
  'devpts',
  'tmpfs',
  'ramfs',
  'cgroup',
  'cgroup2',
  'securityfs',
  'pstore',
  'debugfs',
  'tracefs',
  'mqueue',
  'hugetlbfs',
  'configfs',
  'fusectl',
  'bpf',
  'autofs',
  'binfmt_misc',
  'nsfs',
  'rpc_pipefs',
  'efivarfs',
  'selinuxfs',
  'squashfs',
  'nfsd',
  'fuse.lxcfs',
  'fuse.gvfsd-fuse',
  'fuse.portal',
]);

/** A statfs that does not answer (a dead network mount) is left out rather than waited for. */
const STATFS_TIMEOUT_MS = 2000;

/** mountinfo escapes spaces and friends as \040. */
const unescapeOctal = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

interface MountEntry {
  device: string;
  mount: string;
  fstype: string;
}

/** Real mounts from /proc/self/mountinfo, one per device (bind mounts of the same device are one disk). */
export function parseMountinfo(text: string): MountEntry[] {
  const byDevice = new Map<string, MountEntry>();
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const fstype = right.split(' ')[0] ?? '';
    const device = f[2];
    const mount = f[4];
    if (!device || !mount || PSEUDO.has(fstype)) continue;
    const entry = { device, mount: unescapeOctal(mount), fstype };
    const seen = byDevice.get(device);
    if (!seen || entry.mount.length < seen.mount.length) byDevice.set(device, entry);
  }
  return [...byDevice.values()].sort((a, b) => a.mount.localeCompare(b.mount));
}

async function statMount(m: MountEntry): Promise<MountFigures | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), STATFS_TIMEOUT_MS);
  });
  try {
    const s = await Promise.race([fs.statfs(m.mount).catch(() => null), timeout]);
    if (!s || s.blocks === 0) return null;
    const sizeBytes = s.blocks * s.bsize;
    const usedBytes = (s.blocks - s.bfree) * s.bsize;
    const availableBytes = s.bavail * s.bsize;
    const usable = usedBytes + availableBytes;
    const usedPct = usable > 0 ? Math.ceil((usedBytes / usable) * 1000) / 10 : 0;
    return { mount: m.mount, fstype: m.fstype, sizeBytes, usedBytes, availableBytes, usedPct };
  } finally {
    clearTimeout(timer);
  }
}

async function memory(): Promise<HostFigures['memory']> {
  const text = await fs.readFile('/proc/meminfo', 'utf8').catch(() => '');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  const total = kb('MemTotal');
  const available = kb('MemAvailable');
  if (!Number.isFinite(total) || !Number.isFinite(available)) return null;
  return { totalBytes: total * 1024, availableBytes: available * 1024 };
}

/** sd_booted(3): systemd is the init system when /run/systemd/system exists. */
const systemdIsInit = () =>
  fs.stat('/run/systemd/system').then(
    (s) => s.isDirectory(),
    () => false,
  );

function failedUnitCount(): Promise<number | null> {
  return new Promise((resolve) => {
    execFile(
      'systemctl',
      ['--failed', '--no-legend', '--plain', '--no-pager'],
      { timeout: 10_000, maxBuffer: 1 << 20 },
      (err, stdout) => resolve(err ? null : stdout.split('\n').filter((l) => l.trim()).length),
    );
  });
}

/** The host's disks, memory, load, uptime and failed units, as the dashboard's host card shows them. */
export async function readHostFigures(): Promise<HostFigures> {
  const mountinfo = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const [mounts, mem, systemd] = await Promise.all([
    Promise.all(parseMountinfo(mountinfo).map(statMount)),
    memory(),
    systemdIsInit(),
  ]);
  const [l1 = 0, l5 = 0, l15 = 0] = os.loadavg();
  return {
    mounts: mounts.filter((m): m is MountFigures => m !== null),
    memory: mem,
    load: [l1, l5, l15],
    uptimeSec: Math.round(os.uptime()),
    cpus: os.availableParallelism(),
    failedUnits: systemd ? await failedUnitCount() : null,
    systemd,
  };
}
