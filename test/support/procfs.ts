import fs from 'node:fs';

/** Reads from /proc what tests need to prove that no process they caused is left behind. */

const pids = () =>
  fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);

const read = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return ''; // the process exited meanwhile
  }
};

export const cmdline = (pid: number) => read(`/proc/${pid}/cmdline`).replaceAll('\0', ' ').trim();

const parentOf = (pid: number) => {
  const stat = read(`/proc/${pid}/stat`);
  return stat ? Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) : -1;
};

/** Direct children of `pid`. */
export const childrenOf = (pid: number) => pids().filter((p) => parentOf(p) === pid);

/** Every process below `pid`, at any depth (job scripts live in process groups of their own, but are still descendants). */
export function descendantsOf(pid: number): number[] {
  const parents = new Map(pids().map((p) => [p, parentOf(p)]));
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent === p) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

/** Processes whose environment has a variable with one of `values` (e.g. a run marker, or DECKHAND_JOB_ID of a job). */
export function pidsWithEnv(name: string, values: Iterable<string>): number[] {
  const wanted = new Set([...values].map((v) => `${name}=${v}`));
  return pids().filter((p) =>
    read(`/proc/${p}/environ`)
      .split('\0')
      .some((kv) => wanted.has(kv)),
  );
}

/** Processes with a listening TCP socket on `port` (IPv4 or IPv6), from /proc/net/tcp* and each process's fds. */
export function pidsListeningOn(port: number): number[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of read(table).split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A') inodes.add(cols[9]!);
    }
  }
  if (inodes.size === 0) return [];
  return pids().filter((p) => {
    try {
      return fs.readdirSync(`/proc/${p}/fd`).some((fd) => {
        const target = safeReadlink(`/proc/${p}/fd/${fd}`);
        return /^socket:\[(\d+)\]$/.test(target) && inodes.has(target.slice(8, -1));
      });
    } catch {
      return false;
    }
  });
}

function safeReadlink(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    return '';
  }
}
