import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type AccountOptions, tokensCommand, usersCommand } from './accounts-api.ts';
import { type ApiClient, apiClient, followJob, formatJobs, formatTargets, runRequest, submitted } from './client.ts';
import { completionScript } from './completion.ts';
import { configCommand } from './config.ts';
import { deployCommand } from './deploy.ts';
import { CliError } from './errors.ts';
import { login, logout } from './login.ts';
import { logsCommand } from './logs.ts';
import { emit } from './output.ts';
import { resolveConnection } from './profile.ts';
import { apiCommands, type CommandSpec, options } from './spec.ts';
import { readStdin } from './stdin.ts';

export type Flags = ReturnType<typeof parseArgv>['values'];

/** Bad flags are usage errors (exit 2) with parseArgs' own sentence, never a stack. */
export function parseArgv(argv: string[]) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nsee deckhand --help`, 2);
  }
}

export const fail = (message: string, code = 1): never => {
  throw new CliError(message, code);
};
const need = (v: string | undefined, what: string) => v ?? fail(`${what} is required`, 2);

/** The commands over the API, shared by the repository CLI and the standalone bundle. */
export async function apiCommand(
  [cmd, ...rest]: string[],
  o: Flags,
  commands: Record<string, CommandSpec>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  if (cmd === 'login') return login(rest[0], o, env);
  if (cmd === 'logout') return logout(o, env);
  if (cmd === 'completion') {
    const script = completionScript(rest[0], commands);
    if (o.json) emit(o, { shell: rest[0], script }, '');
    else process.stdout.write(script);
    return 0;
  }
  if (!cmd || !(cmd in apiCommands)) fail(`unknown command: ${[cmd, ...rest].join(' ')}\nsee deckhand --help`, 2);
  const api = apiClient(resolveConnection(env, o.ca));
  switch (cmd) {
    case 'run': {
      const headers: Record<string, string> = o['idempotency-key'] ? { 'Idempotency-Key': o['idempotency-key'] } : {};
      return submitted(api, await api.call('POST', '/api/jobs', runRequest(rest, o['on-busy']), headers), o);
    }
    case 'jobs': {
      const q = new URLSearchParams(
        Object.entries({ status: o.status, kind: o.kind, limit: o.limit }).filter(([, v]) => v) as [string, string][],
      );
      const page = await api.call<{ items: never[] }>('GET', `/api/jobs?${q}`);
      emit(o, page, () => formatJobs(page.items));
      return 0;
    }
    case 'job': {
      const job = await api.call('GET', `/api/jobs/${encodeURIComponent(need(rest[0], 'ID'))}`);
      emit(o, job, () => JSON.stringify(job, null, 2));
      return 0;
    }
    case 'watch':
      return followJob(api, encodeURIComponent(need(rest[0], 'ID')), o);
    case 'cancel': {
      const r = await api.call<{ status: string }>(
        'POST',
        `/api/jobs/${encodeURIComponent(need(rest[0], 'ID'))}/cancel`,
      );
      emit(o, r, r.status);
      return 0;
    }
    case 'retry':
      return submitted(api, await api.call('POST', `/api/jobs/${encodeURIComponent(need(rest[0], 'ID'))}/retry`), o);
    case 'scripts': {
      const list = await api.call<{ items: { name: string; description?: string }[] }>('GET', '/api/scripts');
      emit(o, list, () => list.items.map((s) => `${s.name.padEnd(20)}  ${s.description ?? ''}`.trimEnd()).join('\n'));
      return 0;
    }
    case 'targets': {
      const list = await api.call<{ items: never[] }>('GET', '/api/targets');
      emit(o, list, () => formatTargets(list.items));
      return 0;
    }
    case 'target':
      return targetCommand(api, rest, o);
    case 'deploy':
    case 'rollback':
    case 'deployments':
      return deployCommand(api, cmd, rest, o);
    case 'config':
      return configCommand(api, rest, o);
    case 'logs':
      return logsCommand(api, rest, o);
    case 'users':
      return usersCommand(api, rest, o as AccountOptions);
    case 'tokens':
      return tokensCommand(api, rest, o as AccountOptions);
  }
  return 2;
}

async function targetCommand(api: ApiClient, [action, name]: string[], o: Flags): Promise<number> {
  if (!name || !/^(show|set|rm|unlock)$/.test(action ?? '')) fail('usage: deckhand target show|set|rm|unlock NAME', 2);
  const url = `/api/targets/${encodeURIComponent(name!)}`;
  const print = (data: unknown) => emit(o, data, () => JSON.stringify(data, null, 2));
  if (action === 'show') print(await api.call('GET', url));
  if (action === 'rm') {
    await api.call('DELETE', url);
    if (o.json) print({ name, deleted: true });
  }
  if (action === 'unlock') {
    const lock = await api.call('DELETE', `${url}/lock`);
    emit(o, lock, JSON.stringify(lock));
  }
  if (action === 'set') print(await api.call('PUT', url, await readSpec(o.file)));
  return 0;
}

async function readSpec(file: string | undefined): Promise<unknown> {
  if (!file) return fail('target set needs --file SPEC.json (or --file - for standard input)', 2);
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch(() => fail(`cannot read ${file}`));
  try {
    return JSON.parse(text);
  } catch {
    return fail(`${file} is not valid JSON`);
  }
}
