import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { eventually, processAlive } from './app.ts';
import { cmdline, pidsWithEnv } from './procfs.ts';

const root = path.resolve(import.meta.dirname, '../..');

/** Every process of one `npm start` run carries this variable (job scripts carry DECKHAND_JOB_ID instead). */
const MARK = 'DECKHAND_TEST_RUN';

export interface NpmStart {
  /** The npm process, as a user or a service manager would hold it. */
  npm: ChildProcess;
  port: number;
  url(p: string): string;
  logFile: string;
  /** dist/server/start.js (Deckhand's supervisor), once npm has started it. */
  supervisorPid(): number;
  /** Live processes of this run: npm, the supervisor, web, workers, embedded PostgreSQL, its lifeline. */
  processes(): number[];
  /** Also every live process of these jobs (scripts run in their own groups with a minimal environment). */
  leftovers(jobIds?: Iterable<string>): number[];
  /** Resolves with npm's exit code. */
  exited: Promise<number | null>;
  /** SIGKILLs whatever of the run is still alive; for afterAll, whatever the test did. */
  cleanup(jobIds?: Iterable<string>): Promise<void>;
}

/**
 * `npm start` for real, in `dataDir` (logs in `<dataDir>/deckhand.log`), on `port`,
 * with `env` on top of a minimal environment. Waits until /readyz answers 200.
 */
export async function npmStart(o: {
  dataDir: string;
  port: number;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** In a process group of its own, as a shell runs a job: a test may then signal the whole group. */
  detached?: boolean;
}): Promise<NpmStart> {
  const mark = randomBytes(6).toString('hex');
  const logFile = path.join(o.dataDir, 'deckhand.log');
  const log = fs.openSync(logFile, 'a');
  const npm = spawn('npm', ['start'], {
    cwd: root,
    detached: o.detached ?? false,
    stdio: ['ignore', log, log],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DECKHAND_DATA_DIR: o.dataDir,
      DECKHAND_PORT: String(o.port),
      LOG_LEVEL: 'info',
      [MARK]: mark,
      ...o.env,
    },
  });
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  const processes = () => pidsWithEnv(MARK, [mark]).filter(processAlive);
  const leftovers = (jobIds: Iterable<string> = []) =>
    [...processes(), ...pidsWithEnv('DECKHAND_JOB_ID', jobIds)].filter(processAlive);
  const handle: NpmStart = {
    npm,
    port: o.port,
    url: (p) => `http://127.0.0.1:${o.port}${p}`,
    logFile,
    supervisorPid() {
      // node itself, not a `sh -c` that npm may have put in between
      const pid = processes().find((p) => /(^|\/)node( --\S+)* dist\/server\/start\.js$/.test(cmdline(p)));
      if (!pid) throw new Error('no dist/server/start.js process in this run');
      return pid;
    },
    processes,
    leftovers,
    exited,
    async cleanup(jobIds = []) {
      const ids = [...jobIds];
      // Again and again: a supervisor still alive may start a new worker between two passes.
      const killAll = async () => {
        const left = leftovers(ids);
        for (const pid of left) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
        return left.length === 0;
      };
      await eventually(killAll, 15_000, 'the run’s processes to be gone');
    },
  };
  let npmExited = false;
  void exited.then(() => {
    npmExited = true;
  });
  try {
    await eventually(
      async () => npmExited || (await fetch(handle.url('/readyz')).catch(() => null))?.ok,
      o.readyTimeoutMs ?? 45_000,
      `npm start to serve on ${o.port}`,
    );
    if (npmExited) throw new Error('npm start exited before Deckhand was ready');
  } catch (err) {
    await handle.cleanup();
    const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`${(err as Error).message}; the log ends:\n${tail}`);
  }
  return handle;
}

/** A human-readable list of processes, for assertion messages. */
export const describePids = (pids: number[]) => pids.map((p) => `${p} ${cmdline(p)}`).join('\n');
