import path from 'node:path';
import { makeManagedDir } from './safe-dirs.ts';
import { replaceManagedFile } from './safe-fs.ts';

/**
 * How a deploy hands a target's secrets to its service (DESIGN §1): a systemd
 * drop-in with Environment= lines, or the supervisor program's environment=.
 * Both files are mode 0600 and replaced atomically; their contents never reach
 * job output, logs or audit rows.
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

/**
 * Writes `text` to `file` through a rename, so a reader never sees half a file, without
 * following a symlink a service account planted (safe-fs). The file holds secrets: it is
 * always the worker's own and mode 0600, whatever was there before.
 */
export async function writePrivateFile(file: string, text: string, managed: readonly string[]): Promise<void> {
  await makeManagedDir(path.dirname(file), managed, 0o755);
  await replaceManagedFile(file, text, managed, { mode: 0o600 });
}

/** The default drop-in path of a unit: /etc/systemd/system/<unit>.d/50-deckhand-env.conf. */
export const defaultDropIn = (unit: string) => `/etc/systemd/system/${unit}.d/50-deckhand-env.conf`;
