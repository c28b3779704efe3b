import { CliError } from './errors.ts';

/** A thin client of Deckhand's HTTP API, for `deckhand run|jobs|watch|cancel`. */
export interface ApiClient {
  call<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
}

export function apiClient(env: NodeJS.ProcessEnv = process.env): ApiClient {
  const base = (env.DECKHAND_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  const token = env.DECKHAND_TOKEN;
  if (!token)
    throw new CliError('set DECKHAND_TOKEN to an API token (create one with: deckhand token create --user NAME)');
  return {
    async call(method, path, body, headers = {}) {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (err) {
        throw new CliError(`cannot reach Deckhand at ${base}: ${(err as Error).cause ?? (err as Error).message}`);
      }
      const json = (await res.json().catch(() => null)) as { error?: { message: string; details?: unknown } } | null;
      if (!res.ok) {
        const details = json?.error?.details ? `\n${JSON.stringify(json.error.details, null, 2)}` : '';
        throw new CliError(`${res.status}: ${json?.error?.message ?? res.statusText}${details}`);
      }
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

/** Streams a job's output to stdout and its progress to stderr until it ends; returns its final state. */
export async function watchJob(api: ApiClient, id: string, everyMs = 1000): Promise<Job> {
  let after = 0;
  for (;;) {
    const job = await api.call<Job>('GET', `/api/jobs/${id}`);
    const out = await api.call<{ chunks: { seq: number; text: string; stream: string }[] }>(
      'GET',
      `/api/jobs/${id}/output?after=${after}`,
    );
    for (const c of out.chunks) (c.stream === 'stderr' ? process.stderr : process.stdout).write(c.text);
    after = out.chunks.at(-1)?.seq ?? after;
    if (process.stderr.isTTY) process.stderr.write(`\r${bar(job.progress)} ${job.status} ${job.step ?? ''}\x1b[K`);
    if (terminal.has(job.status) && out.chunks.length === 0) {
      process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}${job.status}${job.error ? `: ${job.error}` : ''}\n`);
      return job;
    }
    if (!terminal.has(job.status)) await new Promise((r) => setTimeout(r, everyMs));
  }
}
