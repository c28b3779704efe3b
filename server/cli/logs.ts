import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from './client.ts';
import { CliError } from './errors.ts';
import { emitLine, type OutputOptions } from './output.ts';

export const logsUsage = `  logs TARGET [--source S] [--since 1h] [--until T] [--grep RE] [--level L] [-n 200] [-f]`;

export interface Line {
  at: string | null;
  text: string;
}

export interface LogsOptions extends OutputOptions {
  source?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  grep?: string | undefined;
  level?: string | undefined;
  lines?: string | undefined;
  follow?: boolean | undefined;
}

/** How often `-f` asks for new lines. */
const FOLLOW_EVERY_MS = 1000;

/**
 * `deckhand logs TARGET`: the newest lines (oldest of them first, as tail prints them), then with
 * `-f` the lines written since, until interrupted. The source defaults to the target's first.
 */
export async function logsCommand(
  api: ApiClient,
  [target]: string[],
  o: LogsOptions,
  print: (line: Line) => void = o.json ? emitLine : (l) => console.log(l.text),
  stop: AbortSignal = new AbortController().signal,
): Promise<number> {
  if (!target) throw new CliError(`usage: deckhand${logsUsage}`, 2);
  const name = encodeURIComponent(target);
  const source = o.source ?? (await firstSource(api, name));
  const q = new URLSearchParams({ source, limit: o.lines ?? '200' });
  if (o.since) q.set('since', o.since);
  if (o.until) q.set('until', o.until);
  if (o.level) q.set('level', o.level);
  if (o.grep) q.set('grep', o.grep);
  if (o.grep) q.set('regex', '1');
  const page = await api.call<{ lines: Line[]; followCursor?: string | null }>('GET', `/api/targets/${name}/logs?${q}`);
  if (o.json && !o.follow) {
    console.log(JSON.stringify(page, null, 2));
    return 0;
  }
  for (const l of [...page.lines].reverse()) print(l);
  if (!o.follow) return 0;
  let cursor = page.followCursor ?? undefined;
  while (!stop.aborted) {
    const f = new URLSearchParams(q);
    for (const k of ['since', 'until', 'limit']) f.delete(k);
    if (cursor) f.set('after', cursor);
    const next = await api.call<{ lines: Line[]; cursor: string }>('GET', `/api/targets/${name}/logs/follow?${f}`);
    for (const l of next.lines) print(l);
    cursor = next.cursor;
    await sleep(FOLLOW_EVERY_MS, undefined, { signal: stop }).catch(() => {});
  }
  return 0;
}

async function firstSource(api: ApiClient, name: string): Promise<string> {
  const t = await api.call<{ logs?: { name: string }[] }>('GET', `/api/targets/${name}`);
  const first = t.logs?.[0]?.name;
  if (!first) throw new CliError('this target declares no log sources; add a "logs" section to it');
  return first;
}
