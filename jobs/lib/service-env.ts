import type { DeploySpec, Target } from './targets.ts';

/**
 * How a deploy hands a target's secrets to its service (DESIGN §1): a systemd
 * drop-in with Environment= lines, or the supervisor program's environment=.
 * Both files are mode 0600 and replaced atomically (worker/service-env.ts); their
 * contents never reach job output, logs or audit rows. The text is built here, so
 * that saving a target can refuse a secret that could not be written.
 */

const HEADER = '; Written by Deckhand on each deploy. Edit the target in Deckhand instead.';

/** systemd expands `%` specifiers and reads C-style escapes inside double quotes. */
const systemdQuote = (s: string) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('%', '%%')}"`;

export function systemdDropIn(env: Record<string, string>): string {
  const lines = Object.entries(env).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`)}`);
  return [HEADER.replace(';', '#'), '[Service]', ...lines, ''].join('\n');
}

/**
 * supervisor's config parser ends a value at an inline comment (`;` or `#` after
 * whitespace), then replaces `%(here)s` everywhere, `%%` included, and only then
 * expands `%(name)s` (where `%%` is a literal `%`). Neither of the first two can
 * be escaped, so text that meets them is refused rather than written wrong.
 */
function supervisorUnsafe(text: string): string | null {
  const comment = [...text.matchAll(/[;#]/g)].some((m) => m.index > 0 && isPythonSpace(text[m.index - 1]!));
  if (comment) return 'a ; or # after whitespace (supervisor reads it as a comment)';
  if (text.includes('%(here)s')) return '%(here)s (supervisor replaces it with a directory, however it is escaped)';
  return null;
}

/** Python's str.isspace(): JS whitespace, and also the separators U+001C to U+001F and NEL. */
const isPythonSpace = (c: string) => /\s/.test(c) || (c >= '\u001c' && c <= '\u001f') || c === '\u0085';

/** `%` as `%%`, so that supervisor's `%(name)s` expansion gives back the original text. */
function supervisorEscape(text: string, field: string, what: string): string {
  const unsafe = supervisorUnsafe(text);
  if (unsafe)
    throw new UnwritableEnvError(`${what} cannot be written to supervisor's config: it contains ${unsafe}`, field);
  return text.replaceAll('%', '%%');
}
function shellWord(s: string): string {
  return /^[A-Za-z0-9_@+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'"'"'`)}'`;
}
/**
 * supervisor splits environment= with shlex in non-POSIX mode: no escapes, a
 * value is quoted with a quote character it does not contain, and quote
 * characters at either end are stripped.
 */
function envValue(name: string, value: string): string {
  const quote = value.includes('"') ? "'" : '"';
  if (/^['"]|['"]$/.test(value) || (value.includes('"') && value.includes("'"))) {
    throw new UnwritableEnvError(
      `${name} cannot be written to supervisor's environment=: its value has both kinds of quotes, or starts or ends with one`,
    );
  }
  return `${quote}${value}${quote}`;
}

export class UnwritableEnvError extends Error {
  override name = 'UnwritableEnvError';
  constructor(
    message: string,
    /** The target field to blame: `env`, or the deploy setting that cannot be written. */
    readonly field = 'env',
  ) {
    super(message);
  }
}

export interface SupervisorProgram {
  program: string;
  command: readonly string[];
  directory: string;
  env: Record<string, string>;
}

/** The whole `[program:x]` section: Deckhand owns this file so that the environment can live in it. */
export function supervisorProgram(p: SupervisorProgram): string {
  const lines = [
    HEADER,
    `[program:${p.program}]`,
    `command=${supervisorEscape(p.command.map(shellWord).join(' '), 'deploy.command', 'the command')}`,
    `directory=${supervisorEscape(p.directory, 'deploy.releasesDir', 'the release directory')}`,
  ];
  const env = Object.entries(p.env).map(([k, v]) => `${k}=${supervisorEscape(envValue(k, v), 'env', k)}`);
  if (env.length > 0) lines.push(`environment=${env.join(',')}`);
  lines.push('autostart=true', 'autorestart=true', 'startsecs=1', 'stopasgroup=true', 'killasgroup=true', '');
  return lines.join('\n');
}

/** The default drop-in path of a unit: /etc/systemd/system/<unit>.d/50-deckhand-env.conf. */
export const defaultDropIn = (unit: string) => `/etc/systemd/system/${unit}.d/50-deckhand-env.conf`;

/** A target with its deploy settings and its secrets, opened for this job only. */
export interface DeployTarget {
  target: Target;
  deploy: DeploySpec;
  secrets: Record<string, string>;
  /** Only the migrate step's: for a deploy of Deckhand itself, Deckhand's own database and queue settings. */
  migrateEnv?: Readonly<Record<string, string>>;
}

/** Where a deploy writes a target's secrets, or null when it has none to write. */
export function envFileOf(target: Target): string | null {
  const { spec } = target;
  if (spec.manager === 'systemd') return spec.deploy?.dropIn ?? defaultDropIn(spec.unit);
  if (spec.manager === 'supervisor') return spec.deploy?.programFile ?? null;
  return null;
}

/** Throws UnwritableEnvError when a secret cannot be expressed in the target's environment file. */
export function assertEnvWritable(target: Target, secrets: Record<string, string>): void {
  const { spec } = target;
  if (spec.manager === 'supervisor' && spec.deploy?.command) {
    supervisorProgram({ program: spec.program, command: spec.deploy.command, directory: '/', env: secrets });
  }
}
