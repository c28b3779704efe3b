import { CliError } from './errors.ts';
import { request } from './http.ts';
import { emit, type OutputOptions } from './output.ts';
import type { Connection } from './profile.ts';

/** A thin client of Deckhand's HTTP API, for `deckhand run|jobs|watch|cancel`. */
export interface ApiClient {
  call<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
}

const NO_TOKEN =
  'no API token: run `deckhand login URL`, or set DECKHAND_TOKEN (an admin makes one on the Tokens page or with: deckhand token create --user NAME)';

const refusedHint: Record<number, string> = {
  401: 'the token is wrong, expired or revoked: run `deckhand login URL` again, or set DECKHAND_TOKEN',
  403: "the token's user may not do this (see the roles in the README)",
};

type ErrorBody = { error?: { message: string; details?: unknown } } | null;

/** A refusal as the person at the terminal needs it: status, the server's message, its details, a hint. */
function refused(base: string, status: number, statusText: string, json: ErrorBody): CliError {
  if (!json?.error) {
    return new CliError(
      `${status}: ${base} answered ${statusText || status}, not with Deckhand's JSON; is it Deckhand's address?`,
    );
  }
  const details = json.error.details ? `\n${JSON.stringify(json.error.details, null, 2)}` : '';
  const hint = refusedHint[status] ? `\n${refusedHint[status]}` : '';
  return new CliError(`${status}: ${json.error.message}${details}${hint}`);
}

export function apiClient(conn: Connection): ApiClient {
  const { base, token, ca } = conn;
  if (!token) throw new CliError(NO_TOKEN);
  return {
    async call(method, path, body, headers = {}) {
      const res = await request(new URL(`${base}${path}`), {
        method,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        ca,
      });
      let json: unknown = null;
      try {
        json = res.text ? JSON.parse(res.text) : null;
      } catch {
        if (res.status < 400)
          throw new CliError(`${base} answered with something other than JSON; is it Deckhand's address?`);
      }
      if (res.status >= 400) throw refused(base, res.status, res.statusText, json as ErrorBody);
      return json as never;
    },
  };
}

interface Job {
  id: string;
  kind: string;
  target: string | null;
  script: string | null;
  status: string;
  progress: number;
  step: string | null;
  error: string | null;
  createdAt: string;
  requestedBy: string;
}

const terminal = new Set(['succeeded', 'failed', 'cancelled', 'lost']);

/** `key=value` words; values that look like integers or booleans become them. */
export function parsePairs(words: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq < 1) throw new CliError(`expected key=value, got "${w}"`);
    const v = w.slice(eq + 1);
    out[w.slice(0, eq)] = /^-?\d+$/.test(v) ? Number(v) : v === 'true' ? true : v === 'false' ? false : v;
  }
  return out;
}

/** `run script NAME k=v…` or `run KIND k=v…`. */
export function runRequest(words: string[], onBusy?: string): Record<string, unknown> {
  const [kind, ...rest] = words;
  if (!kind) throw new CliError('usage: deckhand run script NAME [param=value…] | deckhand run KIND [field=value…]');
  const busy = onBusy ? { onBusy } : {};
  if (kind === 'script') {
    const [script, ...params] = rest;
    if (!script) throw new CliError('usage: deckhand run script NAME [param=value…]');
    return { kind, script, params: parsePairs(params), ...busy };
  }
  return { kind, ...parsePairs(rest), ...busy };
}

export function formatJobs(items: Job[]): string {
  return items
    .map((j) =>
      [
        j.id,
        j.kind.padEnd(11),
        (j.target ?? j.script ?? '-').padEnd(16),
        j.status.padEnd(9),
        `${j.progress}%`.padStart(4),
        j.requestedBy,
        j.createdAt,
      ].join('  '),
    )
    .join('\n');
}

export function formatTargets(
  items: {
    name: string;
    manager: string;
    lock: { jobId: string } | null;
    lastJob: { kind: string; status: string } | null;
  }[],
): string {
  return items
    .map((t) =>
      [
        t.name.padEnd(16),
        t.manager.padEnd(10),
        t.lastJob ? `${t.lastJob.kind}:${t.lastJob.status}` : '-',
        t.lock ? `locked by ${t.lock.jobId}` : '',
      ].join('  '),
    )
    .join('\n');
}

const bar = (p: number) => `[${'#'.repeat(Math.round(p / 5)).padEnd(20, '.')}] ${String(p).padStart(3)}%`;

export interface OutputChunk {
  seq: number;
  stream: string;
  text: string;
}

/**
 * Follows a job until it ends and returns its final state. By default its output goes to stdout and
 * stderr and its progress to a TTY's stderr; `onChunk` takes the output instead (for `--json`).
 */
export async function watchJob(
  api: ApiClient,
  id: string,
  onChunk?: (c: OutputChunk) => void,
  everyMs = 1000,
): Promise<Job> {
  const show = !onChunk;
  let after = 0;
  for (;;) {
    const job = await api.call<Job>('GET', `/api/jobs/${id}`);
    const out = await api.call<{ chunks: OutputChunk[] }>('GET', `/api/jobs/${id}/output?after=${after}`);
    for (const c of out.chunks) {
      if (onChunk) onChunk(c);
      else (c.stream === 'stderr' ? process.stderr : process.stdout).write(c.text);
    }
    after = out.chunks.at(-1)?.seq ?? after;
    if (show && process.stderr.isTTY)
      process.stderr.write(`\r${bar(job.progress)} ${job.status} ${job.step ?? ''}\x1b[K`);
    if (terminal.has(job.status) && out.chunks.length === 0) {
      if (show)
        process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}${job.status}${job.error ? `: ${job.error}` : ''}\n`);
      return job;
    }
    if (!terminal.has(job.status)) await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `watch ID`, `--wait`: the exit code is 0 only if the job succeeded; `--json` prints the job with its output. */
export async function followJob(api: ApiClient, id: string, o: OutputOptions): Promise<number> {
  const output: { stream: string; text: string }[] = [];
  const job = await watchJob(api, id, o.json ? (c) => output.push({ stream: c.stream, text: c.text }) : undefined);
  if (o.json) emit(o, { ...job, output }, '');
  return job.status === 'succeeded' ? 0 : 1;
}

/** A job just submitted: its id (or the API's answer), then with `--wait` the job followed to its end. */
export async function submitted(
  api: ApiClient,
  answer: { id: string },
  o: OutputOptions & { wait?: boolean | undefined },
  human = answer.id,
): Promise<number> {
  if (!o.wait || !o.json) emit(o, answer, human);
  return o.wait ? followJob(api, answer.id, o) : 0;
}
