import fs from 'node:fs';

/** What the footprint benchmark reads from /proc: the processes of one `npm start`, their memory and CPU time. */

const read = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return ''; // the process exited meanwhile
  }
};

const statFields = (pid: number) => {
  const stat = read(`/proc/${pid}/stat`);
  return stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ') : null;
};

const cmdline = (pid: number) => read(`/proc/${pid}/cmdline`).replaceAll('\0', ' ').trim();

/** `pid` and every process below it, with each one's parent. */
function tree(pid: number): Map<number, number> {
  const parents = new Map<number, number>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(Number(d));
    if (f) parents.set(Number(d), Number(f[1]));
  }
  const found = new Map<number, number>([[pid, parents.get(pid) ?? 0]]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, parent] of parents) {
      if (!found.has(p) && found.has(parent)) {
        found.set(p, parent);
        grew = true;
      }
    }
  }
  return found;
}

export type Kind = 'npm' | 'supervisor' | 'web_supervisor' | 'web' | 'worker' | 'lifeline' | 'postgres' | 'job';

/** What a process of the run is, by its command line (and, for the web tier's node:cluster children, its parent). */
function kindOf(pid: number, parentKind: Kind | undefined): Kind {
  const cmd = cmdline(pid);
  if (/dist\/server\/start\.js/.test(cmd)) return 'supervisor';
  // `npm start`'s supervisor is the web tier's node:cluster primary itself; a unit's main.js forks its own.
  if (/dist\/server\/main\.js/.test(cmd))
    return parentKind === 'web_supervisor' || parentKind === 'supervisor' ? 'web' : 'web_supervisor';
  if (/dist\/worker\/main\.js/.test(cmd)) return 'worker';
  if (/embedded-lifeline\.mjs/.test(cmd)) return 'lifeline';
  if (read(`/proc/${pid}/comm`).trim() === 'postgres') return 'postgres';
  if (/(^|\/)npm( |$)|npm-cli\.js/.test(cmd)) return 'npm';
  return 'job';
}

export interface Proc {
  pid: number;
  kind: Kind;
}

/** The processes of a run started as `root` (npm or the supervisor), each with its kind. */
export function processesOf(root: number): Proc[] {
  const all = tree(root);
  const kinds = new Map<number, Kind>();
  const resolve = (pid: number): Kind => {
    const known = kinds.get(pid);
    if (known) return known;
    const parent = all.get(pid)!;
    const kind = kindOf(pid, all.has(parent) && parent !== pid ? resolve(parent) : undefined);
    kinds.set(pid, kind);
    return kind;
  };
  return [...all.keys()].map((pid) => ({ pid, kind: resolve(pid) }));
}

const kb = (text: string, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);

/** Resident memory (RSS) and its proportional share (PSS: shared pages divided among the processes that map them), in MB. */
export function memoryOf(pid: number): { rss: number; pss: number } {
  const rollup = read(`/proc/${pid}/smaps_rollup`);
  return { rss: kb(rollup, 'Rss') / 1024, pss: kb(rollup, 'Pss') / 1024 };
}

/** CPU time (user + system) a process has used so far, in seconds; clock ticks are 1/100 s on Linux. */
export function cpuSecondsOf(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / 100 : 0;
}
