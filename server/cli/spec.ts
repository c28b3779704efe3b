import { configUsage } from './config.ts';
import { deployUsage } from './deploy.ts';
import { logsUsage } from './logs.ts';

/** One command as usage and shell completion know it. */
export interface CommandSpec {
  about: string;
  subcommands?: string[];
  flags?: string[];
}

/** Flags every command takes. */
export const globalFlags = ['--json', '--ca', '--help'];

/** Commands over the API: both the repository CLI and the standalone bundle have them. */
export const apiCommands: Record<string, CommandSpec> = {
  login: { about: 'save the URL and an API token', flags: ['--token-stdin'] },
  logout: { about: 'forget the saved URL and token' },
  run: { about: 'submit a job', flags: ['--wait', '--on-busy', '--idempotency-key'] },
  jobs: { about: 'list jobs', flags: ['--status', '--kind', '--limit'] },
  job: { about: 'show one job' },
  watch: { about: "follow a job's progress and output" },
  cancel: { about: 'cancel a job' },
  retry: { about: 'run a failed job again', flags: ['--wait'] },
  scripts: { about: 'list the allow-listed scripts' },
  targets: { about: 'list targets' },
  target: {
    about: 'show, set, remove or unlock a target',
    subcommands: ['show', 'set', 'rm', 'unlock'],
    flags: ['--file'],
  },
  deploy: { about: 'deploy a target', flags: ['--wait'] },
  rollback: { about: 'roll a target back', flags: ['--to', '--yes', '--wait'] },
  deployments: { about: "list a target's deployments" },
  config: {
    about: "a target's config files",
    subcommands: ['ls', 'show', 'edit', 'apply', 'history', 'restore'],
    flags: ['--file', '--message', '--test', '--wait'],
  },
  logs: {
    about: "read a target's logs",
    flags: ['--source', '--since', '--until', '--grep', '--level', '--lines', '--follow'],
  },
  users: {
    about: 'list and manage users (admin)',
    subcommands: ['add', 'passwd', 'role', 'disable', 'enable'],
    flags: ['--role', '--password-stdin'],
  },
  tokens: { about: 'list or revoke API tokens', subcommands: ['revoke'], flags: ['--user'] },
  completion: { about: 'print a bash or zsh completion script', subcommands: ['bash', 'zsh'] },
};

/** Commands that work on the Deckhand host, against its database: only the repository CLI has them. */
export const hostCommands: Record<string, CommandSpec> = {
  user: {
    about: 'manage users on the host',
    subcommands: ['add', 'passwd', 'role', 'disable', 'enable'],
    flags: ['--role', '--password-stdin'],
  },
  token: {
    about: 'make, list or revoke tokens on the host',
    subcommands: ['create', 'list', 'revoke'],
    flags: ['--user', '--expires'],
  },
  migrate: { about: 'migrate the database' },
};

/** What parseArgs accepts; one table for every command, so a flag means the same everywhere. */
export const options = {
  json: { type: 'boolean' },
  ca: { type: 'string' },
  'token-stdin': { type: 'boolean' },
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

export const hostUsage = `Host-side (on the Deckhand host, straight against its database):
  user add NAME --role viewer|operator|admin --password-stdin
  user passwd NAME --password-stdin
  user role NAME viewer|operator|admin
  user disable|enable NAME
  token create --user NAME [--expires 30d]   (default 90d)
  token list [--user NAME]
  token revoke ID
  migrate`;

export const apiUsage = `Over the API (after deckhand login URL, or with DECKHAND_URL and DECKHAND_TOKEN):
  login URL [--token-stdin] [--ca FILE]      (saves to ~/.config/deckhand/config.json)
  logout
  run script NAME [param=value…] [--wait] [--on-busy reject] [--idempotency-key KEY]
  run KIND [field=value…] [--wait]
  jobs [--status S] [--kind K] [--limit N]
  job ID
  watch ID
  cancel ID
  retry ID [--wait]
  scripts
  targets
  target show|rm|unlock NAME
  target set NAME --file SPEC.json   (--file - reads standard input)
${deployUsage}
${configUsage}
${logsUsage}
  users
  users add NAME --role ROLE --password-stdin
  users passwd NAME --password-stdin | users role NAME ROLE | users disable|enable NAME
  tokens [--user NAME]
  tokens revoke ID
  completion bash|zsh

Every command takes --json (print the API's answer as JSON) and --ca FILE (trust a private CA).`;
