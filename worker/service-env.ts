import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

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

/** supervisor reads its values through `%(name)s` interpolation, then shlex (POSIX rules). */
const supervisorEscape = (s: string) => s.replaceAll('%', '%%');
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
    `command=${supervisorEscape(p.command.map(shellWord).join(' '))}`,
    `directory=${supervisorEscape(p.directory)}`,
  ];
  const env = Object.entries(p.env).map(([k, v]) => `${k}=${supervisorEscape(envValue(k, v))}`);
  if (env.length > 0) lines.push(`environment=${env.join(',')}`);
  lines.push('autostart=true', 'autorestart=true', 'startsecs=1', 'stopasgroup=true', 'killasgroup=true', '');
  return lines.join('\n');
}

/** Writes `text` to `file` with mode 0600 through a rename, so a reader never sees half a file. */
export async function writePrivateFile(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await fs.writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** The default drop-in path of a unit: /etc/systemd/system/<unit>.d/50-deckhand-env.conf. */
export const defaultDropIn = (unit: string) => `/etc/systemd/system/${unit}.d/50-deckhand-env.conf`;
