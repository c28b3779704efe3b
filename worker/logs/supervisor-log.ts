import fs from 'node:fs/promises';
import path from 'node:path';
import { HostReadError } from '../../jobs/lib/host-reads.ts';
import { trustedConfigPath, UntrustedConfigError } from '../trusted-config.ts';

/**
 * The file supervisord writes a program's stdout or stderr to, read from the program's section of
 * the supervisord config. The config is read only once it is root's alone (trusted-config.ts):
 * whoever can edit it could point root at any file. supervisorctl has no command that prints the
 * path, and asking supervisord over its socket would trust whatever answers on it.
 */
export async function supervisorLogFile(configPath: string, program: string, stream: 'stdout' | 'stderr') {
  let text: string;
  try {
    text = await fs.readFile(await trustedConfigPath(configPath), 'utf8');
  } catch (err) {
    if (err instanceof UntrustedConfigError) throw new HostReadError(403, 'log_refused', err.message);
    throw new HostReadError(404, 'log_missing', `cannot read the supervisor config ${configPath}`);
  }
  const section = sectionOf(text, `program:${program}`);
  if (!section) throw new HostReadError(404, 'log_missing', `no [program:${program}] in ${configPath}`);
  if (stream === 'stderr' && /^(true|yes|on|1)$/i.test(section.redirect_stderr ?? ''))
    throw new HostReadError(409, 'log_unavailable', `${program} sends stderr to stdout (redirect_stderr); read stdout`);
  const raw = section[`${stream}_logfile`];
  if (!raw || /^(AUTO|NONE|syslog)$/i.test(raw))
    throw new HostReadError(
      409,
      'log_unavailable',
      `set ${stream}_logfile of [program:${program}] to a file: supervisor's AUTO names are not known in advance`,
    );
  const file = raw
    .replaceAll('%(program_name)s', program)
    .replaceAll('%(here)s', path.dirname(configPath))
    .replaceAll('%(process_num)d', '0');
  if (!path.isAbsolute(file) || file.includes('%('))
    throw new HostReadError(409, 'log_unavailable', `cannot tell where ${stream}_logfile "${raw}" is`);
  return file;
}

/** The key=value pairs of one `[name]` section of an INI file (supervisor's dialect: `;` comments). */
function sectionOf(text: string, name: string): Record<string, string> | null {
  let current: Record<string, string> | null = null;
  let found: Record<string, string> | null = null;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/(^|\s);.*$/, '').trim();
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1]!.trim() === name ? {} : null;
      if (current) found = current;
      continue;
    }
    const kv = /^([A-Za-z_]+)\s*[=:]\s*(.*)$/.exec(line);
    if (current && kv) current[kv[1]!.toLowerCase()] = kv[2]!;
  }
  return found;
}
