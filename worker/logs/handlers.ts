import type { Config } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { JobValidationError } from '../../jobs/lib/errors.ts';
import { HostReadError } from '../../jobs/lib/host-reads.ts';
import { logFollowRead, logPageRead } from '../../jobs/lib/log-query.ts';
import { type LogSource, loadTarget, type Target } from '../../jobs/lib/targets.ts';
import type { HostReadHandlers } from '../host-server.ts';
import { followFile } from './file-follow.ts';
import { pageFile } from './file-page.ts';
import { followJournal, pageJournal } from './journal.ts';
import { buildFilter } from './line-filter.ts';
import { supervisorLogFile } from './supervisor-log.ts';

type Resolved = { kind: 'file'; file: string; allowed: readonly string[] } | { kind: 'journal'; unit: string };

/** The target as stored, checked again; a target that is gone or no longer valid is refused, not a 502. */
async function targetOf(deps: { config: Config; db: Db }, name: string): Promise<Target> {
  try {
    return await loadTarget({ db: deps.db, managedPaths: deps.config.DECKHAND_MANAGED_PATHS }, name);
  } catch (err) {
    if (err instanceof JobValidationError) throw new HostReadError(404, 'not_found', err.message);
    throw err;
  }
}

/** Where a named source's lines come from, with the directories its file may be in. */
async function resolveSource(deps: { config: Config; db: Db }, target: Target, name: string): Promise<Resolved> {
  const source: LogSource | undefined = target.spec.logs.find((s) => s.name === name);
  if (!source)
    throw new HostReadError(404, 'not_found', `target ${target.name} has no log source ${name}`, {
      fieldErrors: { source: ['no such source'] },
    });
  if ('file' in source) return { kind: 'file', file: source.file, allowed: deps.config.DECKHAND_LOG_PATHS };
  if ('journal' in source) return { kind: 'journal', unit: source.journal };
  const spec = target.spec;
  if (spec.manager !== 'supervisor')
    throw new HostReadError(409, 'log_unavailable', `${target.name} is not run by supervisor`);
  const file = await supervisorLogFile(spec.configPath, spec.program, source.supervisor);
  return {
    kind: 'file',
    file,
    allowed: [...deps.config.DECKHAND_LOG_PATHS, ...deps.config.DECKHAND_MANAGED_PATHS],
  };
}

/** `log-page` and `log-follow` (DESIGN §10): params checked again here, the target read from the database. */
export function logReadHandlers(deps: { config: Config; db: Db }): HostReadHandlers {
  return {
    'log-page': async (params) => {
      const q = logPageRead.parse(params);
      const src = await resolveSource(deps, await targetOf(deps, q.target), q.source);
      const filter = buildFilter(q);
      if (src.kind === 'journal') return pageJournal(q.source, src.unit, q, filter);
      return pageFile(q.source, src.file, src.allowed, q, filter);
    },
    'log-follow': async (params) => {
      const q = logFollowRead.parse(params);
      const src = await resolveSource(deps, await targetOf(deps, q.target), q.source);
      const filter = buildFilter(q);
      if (src.kind === 'journal') return followJournal(q.source, src.unit, q, filter);
      return followFile(q.source, src.file, src.allowed, q, filter);
    },
  };
}
