import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type ApiClient, submitted } from './client.ts';
import { CliError } from './errors.ts';
import { emit, type OutputOptions } from './output.ts';

export const configUsage = `  config ls TARGET
  config show TARGET PATH
  config edit TARGET PATH -m COMMENT [--test] [--wait]   (opens $EDITOR on a copy)
  config apply TARGET PATH --file F -m COMMENT [--test] [--wait]
  config history TARGET PATH
  config restore TARGET PATH VERSION -m COMMENT [--wait]`;

interface ConfigItem {
  path: string;
  enabled: boolean | null;
  drift: boolean;
  version: number | null;
}

interface ConfigVersion {
  version: number;
  actor: string;
  createdAt: string;
  comment: string;
  origin: string;
  diff: string;
}

export interface ConfigOptions extends OutputOptions {
  message?: string | undefined;
  file?: string | undefined;
  test?: boolean | undefined;
  wait?: boolean | undefined;
}

const usageError = () => new CliError(`usage:\n${configUsage}`, 2);

function formatItems(items: ConfigItem[]): string {
  return items
    .map((i) =>
      [
        (i.version === null ? '-' : `v${i.version}`).padEnd(5),
        (i.drift ? 'DRIFT' : 'ok').padEnd(5),
        (i.enabled === null ? '' : i.enabled ? 'enabled' : 'disabled').padEnd(8),
        i.path,
      ].join('  '),
    )
    .join('\n');
}

const formatHistory = (items: ConfigVersion[]) =>
  items
    .map((v) => `v${v.version}  ${v.createdAt}  ${v.actor}  ${v.origin}  ${v.comment}\n${v.diff}`.trimEnd())
    .join('\n\n');

/** The user's $EDITOR (or VISUAL, or vi) on a private copy; its arguments split on spaces, never a shell. */
async function editCopy(text: string, name: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'deckhand-edit-'));
  try {
    const copy = path.join(dir, path.basename(name));
    await fs.writeFile(copy, text, { mode: 0o600 });
    const [editor, ...args] = (process.env.VISUAL || process.env.EDITOR || 'vi').split(/\s+/).filter(Boolean);
    const r = spawnSync(editor!, [...args, copy], { stdio: 'inherit' });
    if (r.error || r.status !== 0) throw new CliError(`the editor ${editor} failed; nothing was applied`);
    return await fs.readFile(copy, 'utf8');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** `deckhand config …`: thin calls of the configs API and `config` jobs. */
export async function configCommand(api: ApiClient, rest: string[], o: ConfigOptions): Promise<number> {
  const [action, target, file, version] = rest;
  if (!action || !target) throw usageError();
  const base = `/api/targets/${encodeURIComponent(target)}/configs`;
  const q = (p: string) => `path=${encodeURIComponent(p)}`;
  if (action === 'ls') {
    const list = await api.call<{ items: ConfigItem[] }>('GET', base);
    emit(o, list, () => formatItems(list.items));
    return 0;
  }
  if (!file) throw usageError();
  if (action === 'show') {
    const shown = await api.call<{ text: string }>('GET', `${base}/file?${q(file)}`);
    if (o.json) emit(o, shown, '');
    else process.stdout.write(shown.text);
    return 0;
  }
  if (action === 'history') {
    const history = await api.call<{ items: ConfigVersion[] }>('GET', `${base}/history?${q(file)}`);
    emit(o, history, () => formatHistory(history.items));
    return 0;
  }
  if (!['edit', 'apply', 'restore'].includes(action)) throw usageError();
  if (!o.message) throw new CliError('say why with -m COMMENT');
  let change: Record<string, unknown>;
  if (action === 'restore') {
    if (!version || !/^\d+$/.test(version)) throw usageError();
    change = { version: Number(version) };
  } else if (action === 'apply') {
    if (!o.file) throw new CliError('config apply needs --file F');
    change = {
      text: await fs.readFile(o.file, 'utf8').catch(() => Promise.reject(new CliError(`cannot read ${o.file}`))),
    };
  } else {
    const live = (await api.call<{ text: string }>('GET', `${base}/file?${q(file)}`)).text;
    const text = await editCopy(live, file);
    if (text === live) {
      emit(o, { changed: false }, 'no change; nothing applied');
      return 0;
    }
    change = { text };
  }
  const job = await api.call<{ id: string }>('POST', '/api/jobs', {
    kind: 'config',
    target,
    path: file,
    comment: o.message,
    ...change,
    ...(o.test && action !== 'restore' ? { test: true } : {}),
  });
  return submitted(api, job, o);
}
