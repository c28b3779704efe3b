import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../../config.ts';
import type { Role } from '../../db/users.ts';
import { tokenCreate, tokenList, tokenRevoke, userAdd, userChange } from './accounts.ts';
import { apiClient, formatJobs, formatTargets, runRequest, watchJob } from './client.ts';
import { configCommand, configUsage } from './config.ts';
import { deployCommand, deployUsage } from './deploy.ts';
import { CliError } from './errors.ts';
import { migrate, readStdin } from './host.ts';
import { logsCommand, logsUsage } from './logs.ts';

const usage = `usage: deckhand <command>

Host-side (straight against the database):
  user add NAME --role viewer|operator|admin --password-stdin
  user passwd NAME --password-stdin
  user role NAME viewer|operator|admin
  user disable|enable NAME
  token create --user NAME [--expires 30d]   (default 90d)
  token list [--user NAME]
  token revoke ID
  migrate

Over the API (set DECKHAND_URL and DECKHAND_TOKEN):
  run script NAME [param=value…] [--wait] [--on-busy reject] [--idempotency-key KEY]
  run KIND [field=value…] [--wait]
  jobs [--status S] [--kind K] [--limit N]
  watch ID
  cancel ID
  targets
  target show|rm|unlock NAME
  target set NAME --file SPEC.json   (--file - reads standard input)
${deployUsage}
${configUsage}
${logsUsage}`;

const options = {
  role: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  user: { type: 'string' },
  expires: { type: 'string' },
  wait: { type: 'boolean' },
  'on-busy': { type: 'string' },
  'idempotency-key': { type: 'string' },
  status: { type: 'string' },
  kind: { type: 'string' },
  limit: { type: 'string' },
  file: { type: 'string' },
  to: { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  message: { type: 'string', short: 'm' },
  test: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  source: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  grep: { type: 'string' },
  level: { type: 'string' },
  lines: { type: 'string', short: 'n' },
  follow: { type: 'boolean', short: 'f' },
} as const;

async function main(argv: string[]): Promise<number> {
  const {
    values: o,
    positionals: [cmd, ...rest],
  } = parseArgs({ args: argv, options, allowPositionals: true });
  if (o.help || !cmd) {
    console.log(usage);
    return cmd ? 0 : 2;
  }
  const config = loadConfig();
  const need = (v: string | undefined, flag: string) => v ?? fail(`${flag} is required`);
  switch (`${cmd} ${rest[0] ?? ''}`.trim()) {
    case 'user add': {
      if (!o['password-stdin']) fail('pass the password on standard input with --password-stdin');
      console.log(await userAdd(config, need(rest[1], 'NAME'), need(o.role, '--role'), await readStdin()));
      return 0;
    }
    case 'user passwd': {
      if (!o['password-stdin']) fail('pass the password on standard input with --password-stdin');
      console.log(await userChange(config, need(rest[1], 'NAME'), { password: await readStdin() }));
      return 0;
    }
    case 'user role':
      console.log(await userChange(config, need(rest[1], 'NAME'), { role: need(rest[2], 'ROLE') as Role }));
      return 0;
    case 'user disable':
    case 'user enable':
      console.log(await userChange(config, need(rest[1], 'NAME'), { disabled: rest[0] === 'disable' }));
      return 0;
    case 'token create':
      console.log(await tokenCreate(config, need(o.user, '--user'), o.expires));
      return 0;
    case 'token list':
      console.log(await tokenList(config, o.user));
      return 0;
    case 'token revoke':
      console.log(await tokenRevoke(config, need(rest[1], 'ID')));
      return 0;
    case 'migrate':
      console.log(await migrate(config));
      return 0;
  }
  const apiCommands = [
    'run',
    'jobs',
    'watch',
    'cancel',
    'targets',
    'target',
    'deploy',
    'rollback',
    'deployments',
    'config',
    'logs',
  ];
  if (!apiCommands.includes(cmd)) fail(`unknown command: ${[cmd, ...rest].join(' ')}\n\n${usage}`, 2);
  const api = apiClient();
  switch (cmd) {
    case 'run': {
      const headers: Record<string, string> = o['idempotency-key'] ? { 'Idempotency-Key': o['idempotency-key'] } : {};
      const job = await api.call<{ id: string }>('POST', '/api/jobs', runRequest(rest, o['on-busy']), headers);
      console.log(job.id);
      if (!o.wait) return 0;
      return (await watchJob(api, job.id)).status === 'succeeded' ? 0 : 1;
    }
    case 'jobs': {
      const q = new URLSearchParams(
        Object.entries({ status: o.status, kind: o.kind, limit: o.limit }).filter(([, v]) => v) as [string, string][],
      );
      console.log(formatJobs((await api.call<{ items: never[] }>('GET', `/api/jobs?${q}`)).items));
      return 0;
    }
    case 'watch':
      return (await watchJob(api, need(rest[0], 'ID'))).status === 'succeeded' ? 0 : 1;
    case 'targets':
      console.log(formatTargets((await api.call<{ items: never[] }>('GET', '/api/targets')).items));
      return 0;
    case 'target':
      return targetCommand(api, rest, o.file);
    case 'deploy':
    case 'rollback':
    case 'deployments':
      return deployCommand(api, cmd, rest, o);
    case 'config':
      return configCommand(api, rest, o);
    case 'logs':
      return logsCommand(api, rest, o);
    case 'cancel':
      console.log((await api.call<{ status: string }>('POST', `/api/jobs/${need(rest[0], 'ID')}/cancel`)).status);
      return 0;
  }
  return 2;
}

async function targetCommand(
  api: ReturnType<typeof apiClient>,
  [action, name]: string[],
  file?: string,
): Promise<number> {
  if (!name || !/^(show|set|rm|unlock)$/.test(action ?? '')) fail('usage: deckhand target show|set|rm|unlock NAME', 2);
  const url = `/api/targets/${encodeURIComponent(name)}`;
  if (action === 'show') console.log(JSON.stringify(await api.call('GET', url), null, 2));
  if (action === 'rm') await api.call('DELETE', url);
  if (action === 'unlock') console.log(JSON.stringify(await api.call('DELETE', `${url}/lock`)));
  if (action === 'set') {
    if (!file) fail('target set needs --file SPEC.json (or --file - for standard input)');
    const text =
      file === '-' ? await readStdin() : await readFile(file, 'utf8').catch(() => fail(`cannot read ${file}`));
    let spec: unknown;
    try {
      spec = JSON.parse(text);
    } catch {
      fail(`${file} is not valid JSON`);
    }
    console.log(JSON.stringify(await api.call('PUT', url, spec), null, 2));
  }
  return 0;
}

function fail(message: string, code = 1): never {
  throw new CliError(message, code);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    const known = err instanceof CliError || err instanceof ConfigError || err?.code?.startsWith?.('ERR_PARSE_ARGS');
    console.error(`deckhand: ${known ? err.message : (err?.stack ?? err)}`);
    process.exit(err instanceof CliError ? err.exitCode : known ? 2 : 1);
  },
);
