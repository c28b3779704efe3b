import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { api, eventually, type Harness, sleep, spawnWorker, type TestUser } from '../support/app.ts';
import { stopChild } from '../support/process.ts';
import { pidsWithEnv } from '../support/procfs.ts';

/** `CHAOS_LONG=1` runs the long version of each chaos test (more jobs, kills, a 30 s outage). */
export const long = process.env.CHAOS_LONG === '1';
export const chaosScripts = path.resolve(import.meta.dirname, 'scripts');

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'lost'];

/** Worker processes as `npm start` runs them: real `dist/worker/main.js`, restarted when one exits. */
export class WorkerPool {
  private readonly procs = new Set<ChildProcess>();
  private closing = false;
  restarts = 0;
  kills = 0;

  constructor(
    private readonly h: Harness,
    private readonly env: Record<string, string>,
  ) {}

  start(count: number): void {
    for (let i = 0; i < count; i++) this.spawn();
  }

  private spawn(): void {
    // CHAOS_LOG=<file> keeps the workers' warnings there, for a look at what they repaired.
    const logFd = process.env.CHAOS_LOG ? fs.openSync(process.env.CHAOS_LOG, 'a') : undefined;
    const env = logFd === undefined ? this.env : { ...this.env, LOG_LEVEL: 'warn' };
    const proc = spawnWorker(this.h, env, logFd);
    if (logFd !== undefined) fs.closeSync(logFd);
    this.procs.add(proc);
    proc.once('exit', () => {
      this.procs.delete(proc);
      if (this.closing) return;
      this.restarts++;
      this.spawn();
    });
  }

  /** SIGKILLs one worker at random; the pool starts another in its place. */
  killOne(): void {
    const alive = [...this.procs].filter((p) => p.exitCode === null && p.signalCode === null);
    const victim = alive[Math.floor(Math.random() * alive.length)];
    if (!victim) return;
    victim.kill('SIGKILL');
    this.kills++;
  }

  /** SIGTERM to every worker (SIGKILL after `graceMs`), waiting until each has exited. */
  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    await Promise.all(
      [...this.procs].map(async (p) => {
        const kill = setTimeout(() => p.kill('SIGKILL'), graceMs);
        await stopChild(p, 'SIGTERM').finally(() => clearTimeout(kill));
      }),
    );
  }
}

/** A directory the `lines` script records its runs in; removed by `remove`. */
export function runsDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deckhand-chaos-'));
  return {
    dir,
    /** Per job: one entry per run of its script, true if that run printed every line and exited 0. */
    runs(): Map<string, boolean[]> {
      const byJob = new Map<string, boolean[]>();
      for (const name of fs.readdirSync(dir)) {
        const jobId = name.slice(0, name.lastIndexOf('.'));
        const clean = fs.readFileSync(path.join(dir, name), 'utf8').includes('exit 0');
        byJob.set(jobId, [...(byJob.get(jobId) ?? []), clean]);
      }
      return byJob;
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** POSTs `count` jobs of the `lines` script; returns the ids of those accepted with 202. */
export async function submitLines(
  h: Harness,
  user: TestUser,
  count: number,
  params: { count: number; tenths: number; runs: string },
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await api(h, user, 'POST', '/api/jobs', { kind: 'script', script: 'lines', params });
    if (res.status === 202) ids.push(res.json.id);
  }
  return ids;
}

/** Waits until every one of `ids` is terminal (read straight from PostgreSQL). */
export async function waitAllTerminal(h: Harness, ids: string[], timeoutMs: number): Promise<void> {
  await eventually(
    async () => {
      const r = await h.database.db
        .execute(sql`SELECT count(*)::int AS n FROM jobs WHERE id = ANY(${`{${ids.join(',')}}`}::uuid[])
          AND status NOT IN ('succeeded', 'failed', 'cancelled', 'lost')`)
        .catch(() => null);
      return r?.rows[0]?.n === 0;
    },
    timeoutMs,
    `all ${ids.length} jobs to end`,
  );
}

export interface JobRecord {
  id: string;
  status: string;
  attempt: number;
  error: string | null;
  /** `active` status events: how many attempts the history shows. */
  activeEvents: number;
  output: string;
  gaps: number;
}

export async function jobRecords(h: Harness, ids: string[]): Promise<JobRecord[]> {
  const idList = `{${ids.join(',')}}`;
  const rows = await h.database.db.execute(sql`
    SELECT j.id, j.status, j.attempt, j.error,
      (SELECT count(*)::int FROM job_events e WHERE e.job_id = j.id AND e.type = 'status' AND e.data->>'status' = 'active') AS active_events,
      (SELECT count(*)::int FROM job_events e WHERE e.job_id = j.id AND e.type = 'gap') AS gaps,
      coalesce((SELECT string_agg(e.data->>'text', '' ORDER BY e.seq) FROM job_events e WHERE e.job_id = j.id AND e.type = 'output'), '') AS output
    FROM jobs j WHERE j.id = ANY(${idList}::uuid[])`);
  return (rows.rows as Record<string, unknown>[]).map((r) => ({
    id: String(r.id),
    status: String(r.status),
    attempt: Number(r.attempt),
    error: (r.error as string | null) ?? null,
    activeEvents: Number(r.active_events),
    output: String(r.output),
    gaps: Number(r.gaps),
  }));
}

/** Whether `output` has lines 1..count of the `lines` script, in order and each once. */
export function hasEveryLine(output: string, count: number): boolean {
  const lines = output.split('\n').filter((l) => l.startsWith('line '));
  return lines.length === count && lines.every((l, i) => l === `line ${i + 1} of ${count}`);
}

/** BullMQ jobs that would still reach a worker although their row has ended (or that BullMQ lost while the row is open). */
export async function queueOrphans(h: Harness, records: JobRecord[]): Promise<string[]> {
  const orphans: string[] = [];
  const pending = new Set(await h.producer.pendingJobIds());
  for (const r of records) {
    const open = !TERMINAL.includes(r.status);
    const state = await h.producer.state(r.id);
    const live = pending.has(r.id) || state === 'active';
    if (open !== live) orphans.push(`${r.id} (row ${r.status}, queue ${state})`);
  }
  return orphans;
}

/** Processes still running for any of these jobs (by the DECKHAND_JOB_ID every job process carries). */
export const leftoverProcesses = (ids: string[]) => pidsWithEnv('DECKHAND_JOB_ID', ids);

/** Waits until no process of these jobs is left, and no BullMQ job of theirs is pending or active. */
export async function settle(h: Harness, records: JobRecord[], timeoutMs = 15_000) {
  const ids = records.map((r) => r.id);
  const deadline = Date.now() + timeoutMs;
  let orphans: string[] = [];
  let leftovers: number[] = [];
  do {
    orphans = await queueOrphans(h, records);
    leftovers = leftoverProcesses(ids);
    if (orphans.length === 0 && leftovers.length === 0) break;
    await sleep(250);
  } while (Date.now() < deadline);
  return { orphans, leftovers };
}

export const percent = (part: number, whole: number) => (whole === 0 ? 100 : Math.round((part / whole) * 1000) / 10);
