/** What a job does, in words: the job page's title and heading and every job list use this one function. */

export interface JobRequestShape {
  kind: string;
  target: string | null;
  script: string | null;
  params: Record<string, unknown>;
}

const MODE_VERB: Record<string, string> = { restart: 'Restart', reload: 'Reload', start: 'Start', stop: 'Stop' };

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** The first path-like parameter of a script, to say what it looked at ("on /var"). */
function scriptSubject(params: Record<string, unknown>): string | null {
  for (const key of ['path', 'target', 'app', 'service', 'file', 'host']) {
    const v = str(params[key]);
    if (v) return v;
  }
  return null;
}

export function jobTitle(job: JobRequestShape): string {
  const target = job.target ?? '?';
  const p = job.params;
  switch (job.kind) {
    case 'restart':
      return `${MODE_VERB[String(p.mode)] ?? 'Restart'} ${target}`;
    case 'deploy':
      if (str(p.release)) return `Roll back ${target} to ${p.release}`;
      return str(p.ref) ? `Deploy ${target} ${p.ref}` : `Deploy ${target}`;
    case 'cert-reload':
      return `Reload certificate on ${target}`;
    case 'config': {
      const verb =
        p.test === true
          ? 'Test config'
          : typeof p.version === 'number'
            ? `Restore config v${p.version}`
            : typeof p.enabled === 'boolean'
              ? `${p.enabled ? 'Enable' : 'Disable'} config`
              : 'Config';
      return `${verb} ${target} ${str(p.path) ?? ''}`.trimEnd();
    }
    case 'script': {
      const on = scriptSubject(p);
      return `Script ${job.script ?? '?'}${on ? ` on ${on}` : ''}`;
    }
    case 'notify': {
      const facts = (p.facts ?? {}) as Record<string, unknown>;
      return `Notify: ${str(facts.summary) ?? str(p.event) ?? 'notification'}`;
    }
    default:
      return `${job.kind.charAt(0).toUpperCase()}${job.kind.slice(1)} ${job.target ?? job.script ?? ''}`.trimEnd();
  }
}

/**
 * Parameters as a page shows them, from params already redacted by the server: a config's `text`
 * is summarised (its size), never shown whole; everything else is printed plainly.
 */
export function shownParams(kind: string, redacted: Record<string, unknown>): [string, string][] {
  return Object.entries(redacted).map(([k, v]) => {
    if (kind === 'config' && k === 'text' && typeof v === 'string') {
      const lines = v === '' ? 0 : v.split('\n').length - (v.endsWith('\n') ? 1 : 0);
      return [k, `${lines} lines, ${Buffer.byteLength(v)} bytes`];
    }
    return [k, typeof v === 'string' ? v : JSON.stringify(v)];
  });
}
