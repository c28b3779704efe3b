/** One audit row as a readable sentence ("ops deployed shop v2.1"); unknown actions get a generic one. */
export interface AuditFact {
  actor: string;
  action: string;
  subject: string | null;
  details: Record<string, unknown>;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const short = (id: string) => (/^[0-9a-f-]{36}$/.test(id) ? id.slice(0, 8) : id);

const modeVerb: Record<string, string> = {
  restart: 'restarted',
  reload: 'reloaded',
  stop: 'stopped',
  start: 'started',
};

/** What a job did, from its kind and target ("restarted web", "deployed shop v2.1"). */
function jobPhrase(d: Record<string, unknown>): string {
  const target = str(d.target);
  const params = (d.params ?? {}) as Record<string, unknown>;
  switch (str(d.kind)) {
    case 'restart':
      return `${modeVerb[str(params.mode) ?? 'restart'] ?? 'restarted'} ${target ?? 'a target'}`;
    case 'deploy':
      if (str(params.release)) return `rolled back ${target ?? 'a target'} to ${params.release}`;
      return `deployed ${target ?? 'a target'}${str(params.ref) ? ` ${params.ref}` : ''}`;
    case 'cert-reload':
      return `reloaded the certificate of ${target ?? 'a target'}`;
    case 'config':
      return `applied a config change to ${target ?? 'a target'}`;
    case 'script':
      return `ran the script ${str(d.script) ?? '?'}${target ? ` on ${target}` : ''}`;
    case 'notify':
      return `sent a ${str(d.event) ?? ''} notification${target ? ` about ${target}` : ''}`.replace('  ', ' ');
    default:
      return `started a ${str(d.kind) ?? ''} job${target ? ` on ${target}` : ''}`.replace('  ', ' ');
  }
}

type Phrase = (s: string, d: Record<string, unknown>) => string;

/** A schedule's job as audited: its POST /api/jobs body, where a restart's mode sits beside the target. */
function scheduledJob(d: Record<string, unknown>): string {
  const job = (d.job ?? {}) as Record<string, unknown>;
  return jobPhrase({ ...job, params: job.params ?? job });
}

const phrases: Record<string, Phrase> = {
  'auth.login': () => 'signed in',
  'auth.logout': () => 'signed out',
  'auth.login_failed': (s) => `failed to sign in as ${s}`,
  'job.enqueue': (_s, d) => `${jobPhrase(d)}${d.schedule ? ' (scheduled)' : ''}`,
  'job.retry': (_s, d) => `retried: ${jobPhrase(d)}`,
  'job.cancel': (s) => `cancelled job ${short(s)}`,
  'job.lost': (s) => `marked job ${short(s)} lost`,
  'job.pin': (s) => `pinned job ${short(s)} (pruning keeps it)`,
  'job.unpin': (s) => `unpinned job ${short(s)}`,
  'history.prune': (_s, d) =>
    `pruned the history: ${Number(d.jobs ?? 0)} old jobs, the output of ${Number(d.outputJobs ?? 0)} more and ${Number(d.auditRows ?? 0)} audit rows`,
  'user.create': (s, d) => `created the user ${s}${str(d.role) ? ` (${d.role})` : ''}`,
  'user.update': (s) => `changed the user ${s}`,
  'token.create': (s) => `created a token for ${s}`,
  'token.revoke': (s) => `revoked a token of ${s}`,
  'target.create': (s) => `created the target ${s}`,
  'target.update': (s) => `changed the target ${s}`,
  'target.delete': (s) => `deleted the target ${s}`,
  'target.lock.force_release': (s) => `force-released the lock of ${s}`,
  'config.adopt': (s) => `adopted the configs of ${s}`,
  'certificate.upload': () => 'uploaded a certificate',
  'settings.update': () => 'changed the settings',
  'deckhand.restart': () => 'restarted Deckhand',
  'deckhand.cold_start': (_s, d) => `started the web tier cold and signed out ${Number(d.signedOut ?? 0)} sessions`,
  'notification.channel.create': (s, d) =>
    `added the ${str(d.type) ?? ''} notification channel ${s}`.replace('  ', ' '),
  'notification.channel.delete': (s) => `deleted the notification channel ${s}`,
  'notification.rule.create': (s) => `added the notification rule ${s}`,
  'notification.rule.update': (s, d) => `${d.enabled === false ? 'paused' : 'resumed'} the notification rule ${s}`,
  'notification.rule.delete': (s) => `deleted the notification rule ${s}`,
  'schedule.create': (s, d) => `scheduled (${str(d.cron) ?? '?'}): ${scheduledJob(d)} [${short(s)}]`,
  'schedule.pause': (s) => `paused the schedule ${short(s)}`,
  'schedule.resume': (s) => `resumed the schedule ${short(s)}`,
  'schedule.delete': (s, d) => `deleted the schedule ${short(s)} (${scheduledJob(d)})`,
  'schedule.skip': (s, d) => `skipped a run of the schedule ${short(s)}: ${str(d.reason) ?? 'not allowed'}`,
  'schedule.fail': (s, d) => `could not start a run of the schedule ${short(s)}: ${str(d.reason) ?? 'an error'}`,
  'logs.read': (s, d) => `${d.follow ? 'followed' : 'read'} the logs of ${s}`,
};

export function auditSentence(f: AuditFact): string {
  const phrase = phrases[f.action];
  if (phrase) return `${f.actor} ${phrase(f.subject ?? '', f.details ?? {})}`;
  return `${f.actor} did ${f.action}${f.subject ? ` on ${f.subject}` : ''}`;
}
