import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { APP_DIR } from '../../config.ts';
import { UnrecoverableError } from '../../jobs/lib/errors.ts';
import type { ProcessMatch } from '../../jobs/lib/targets.ts';

/**
 * A pidfile names a process Deckhand must not signal. The app's user can write any
 * PID into its own pidfile, so what it names is checked, never trusted (DESIGN §9).
 */
export class PidRefusedError extends UnrecoverableError {
  override name = 'PidRefusedError';
}

/** A PID is a few digits; anything longer is not a pidfile Deckhand reads. */
const MAX_PIDFILE_BYTES = 64;
/** The largest pid_max Linux allows (PID_MAX_LIMIT on 64-bit). */
const MAX_PID = 4_194_304;
const MAX_CMDLINE_BYTES = 64 * 1024;

/** Deckhand's own install directory: its entry points and the embedded PostgreSQL binaries live under it. */
const INSTALL_DIR = APP_DIR;
/** An entry point, compiled (dist/…/*.js, as npm start and the units run it) or run from its sources. */
const DECKHAND_ENTRY = /(?:^|\/)(?:(?:server\/(?:main|start)|worker\/main)\.[jt]s|server\/cli\/deckhand\.mjs)$/;

/** At most `max` bytes of a file, opened without following a symlink in its last component. */
async function readCapped(file: string, max: number, what: string): Promise<string | null> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ESRCH') return null;
    if (code === 'ELOOP') throw new PidRefusedError(`${what} ${file} is a symbolic link, which Deckhand never follows`);
    throw new PidRefusedError(`cannot read ${what} ${file}: ${code ?? (err as Error).message}`);
  }
  try {
    if (!(await handle.stat()).isFile()) throw new PidRefusedError(`${what} ${file} is not a regular file`);
    const buf = Buffer.alloc(max + 1);
    const { bytesRead } = await handle.read(buf, 0, max + 1, 0);
    if (bytesRead > max) throw new PidRefusedError(`${what} ${file} is larger than ${max} bytes`);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The PID a pidfile names, or null when it is missing or empty (the service is not running). */
export async function readPidfile(pidfile: string): Promise<number | null> {
  const text = await readCapped(pidfile, MAX_PIDFILE_BYTES, 'pidfile');
  if (text === null || text.trim() === '') return null;
  const m = /^\s*(\d{1,10})\s*$/.exec(text);
  const pid = m ? Number(m[1]) : Number.NaN;
  if (!(pid <= MAX_PID)) throw new PidRefusedError(`pidfile ${pidfile} does not hold a PID`);
  if (pid <= 1) throw new PidRefusedError(`pidfile ${pidfile} names PID ${pid}, which Deckhand never signals`);
  return pid;
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The running executable (the kernel's resolved path), or null when /proc does not say (kernel threads). */
  exe: string | null;
  argv: string[];
  /** Real, effective, saved and filesystem uid. */
  uids: number[];
}

/** What /proc says about `pid`, or null when no live process has it (gone, or a zombie). */
export async function inspectProcess(pid: number): Promise<ProcessInfo | null> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  if (status === null || /^State:\s*[ZX]/m.test(status)) return null;
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
  const exe = await fs.readlink(`/proc/${pid}/exe`).catch(() => null);
  const cmdline = await readCapped(`/proc/${pid}/cmdline`, MAX_CMDLINE_BYTES, 'command line').catch(() => null);
  return {
    pid,
    ppid: Number(field('PPid')),
    exe: exe?.replace(/ \(deleted\)$/, '') ?? null,
    argv: (cmdline ?? '').split('\0').filter((a) => a !== ''),
    uids: field('Uid').split(/\s+/).filter(Boolean).map(Number),
  };
}

/** This worker's parent, grandparent, … up to PID 1. */
async function ancestorsOfSelf(): Promise<Set<number>> {
  const out = new Set<number>();
  let pid = process.ppid;
  while (pid > 1 && !out.has(pid)) {
    out.add(pid);
    pid = (await inspectProcess(pid))?.ppid ?? 0;
  }
  return out;
}

/** Why `p` is one of Deckhand's own processes (or one it runs under), or null. */
async function deckhandProcess(p: ProcessInfo): Promise<string | null> {
  if (p.pid === process.pid) return 'this Deckhand worker';
  if ((await ancestorsOfSelf()).has(p.pid)) return 'a parent of this Deckhand worker';
  if (p.exe?.startsWith(`${INSTALL_DIR}/`)) return 'a Deckhand process';
  if (p.argv.some((a) => DECKHAND_ENTRY.test(a))) return 'a Deckhand process';
  return null;
}

async function realpathOr(file: string): Promise<string> {
  return fs.realpath(file).catch(() => file);
}

/** Why `p` is not the process the target declares, or null when it is. */
async function mismatch(p: ProcessInfo, match: ProcessMatch): Promise<string | null> {
  const who = `PID ${p.pid} (${p.exe ?? 'unknown executable'})`;
  if (match.exe !== undefined && p.exe !== (await realpathOr(match.exe)))
    return `${who} does not match the target's declared executable ${match.exe}`;
  if (match.cmdline !== undefined && !new RegExp(match.cmdline).test(p.argv.join(' ')))
    return `${who} does not match the target's declared command line /${match.cmdline}/`;
  if (match.uid !== undefined && (p.uids.length === 0 || p.uids.some((u) => u !== match.uid)))
    return `${who} runs as uid ${p.uids.join('/') || 'unknown'}, not the target's declared uid ${match.uid}`;
  return null;
}

const STICKY = 0o1000;

/**
 * Who besides root and Deckhand's own user could have written `pidfile`: the owner of the file
 * or of any directory above it (who could put another file in its place), or anyone at all
 * when one of them is writable by group or others (a sticky directory such as /tmp excepted).
 */
async function otherWriters(pidfile: string): Promise<{ uids: Set<number>; anyone: string | null }> {
  const ownUid = process.getuid?.() ?? 0;
  const uids = new Set<number>();
  let anyone: string | null = null;
  const note = (where: string, st: { uid: number; mode: number }, isDir: boolean) => {
    if (st.uid !== 0 && st.uid !== ownUid) uids.add(st.uid);
    if ((st.mode & 0o022) !== 0 && !(isDir && st.mode & STICKY)) anyone ??= where;
  };
  const file = await fs.lstat(pidfile).catch(() => null);
  if (file) note(pidfile, file, false);
  for (let dir = await realpathOr(path.dirname(pidfile)); ; dir = path.dirname(dir)) {
    const st = await fs.stat(dir).catch(() => null);
    if (st) note(dir, st, true);
    if (dir === path.dirname(dir)) break;
  }
  return { uids, anyone };
}

/**
 * With no uid declared, a pidfile that someone other than root could write may only name a
 * process of that someone: matching an interpreter (gunicorn is python3) would otherwise let
 * the app's user aim any root python3 (or another app's process) at Deckhand's signal.
 */
async function writerMismatch(pidfile: string, p: ProcessInfo, match: ProcessMatch): Promise<string | null> {
  if (match.uid !== undefined) return null; // checked by mismatch()
  const { uids, anyone } = await otherWriters(pidfile);
  const runsAs = p.uids.join('/') || 'unknown';
  if (anyone)
    return `pidfile ${pidfile} can be written by anyone (${anyone} is writable by group or others); declare the target's uid to signal PID ${p.pid}`;
  if (uids.size > 0 && (p.uids.length === 0 || p.uids.some((u) => !uids.has(u)))) {
    const writers = [...uids].join(', ');
    return `pidfile ${pidfile} can be written by uid ${writers}, but PID ${p.pid} runs as uid ${runsAs}; declare the target's uid to signal it`;
  }
  return null;
}

/**
 * The live process a signal target's pidfile names, once it is checked to be the
 * declared program and none of Deckhand's own; null when nothing runs there.
 * Throws PidRefusedError, with the reason, for anything else.
 */
export async function checkedPidfileProcess(pidfile: string, match: ProcessMatch): Promise<ProcessInfo | null> {
  const pid = await readPidfile(pidfile);
  if (pid === null) return null;
  const p = await inspectProcess(pid);
  if (!p) return null;
  const own = await deckhandProcess(p);
  if (own) throw new PidRefusedError(`pidfile ${pidfile} names PID ${pid}, ${own}, which Deckhand never signals`);
  const wrong = (await mismatch(p, match)) ?? (await writerMismatch(pidfile, p, match));
  if (wrong) throw new PidRefusedError(wrong);
  return p;
}
