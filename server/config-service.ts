import { audit } from '../db/audit.ts';
import {
  type ConfigVersionRow,
  latestVersion,
  listVersions,
  recordVersion,
  unifiedDiff,
} from '../db/config-versions.ts';
import { isConfigPath } from '../jobs/lib/config-paths.ts';
import { loadTarget } from '../jobs/lib/targets.ts';
import type { SessionUser } from './auth/sessions.ts';
import type { AppDeps } from './context.ts';
import { badRequest, conflict, HttpError, notFound } from './errors.ts';
import { findTargetRow } from './target-service.ts';

/**
 * A target's config files as the web tier sees them (DESIGN §10): the files themselves only
 * through a worker of the target's host, versions from PostgreSQL. Paths are checked against
 * the target's globs here first, so a bad one is a 400 without asking a worker.
 */

export interface ConfigItem {
  path: string;
  enabled: boolean | null;
  drift: boolean;
  version: number | null;
}

export interface ConfigFile {
  path: string;
  text: string;
  version: number | null;
  drift: boolean;
}

/** The target's host and its configs section; 404 for an unknown target or one without configs. */
export async function configTarget(deps: AppDeps, name: string) {
  const row = await findTargetRow(deps.db, name);
  if (!row) throw notFound('target');
  const { spec } = await loadTarget(deps.env, name);
  if (!spec.configs) throw new HttpError(404, 'no_configs', `target ${name} has no configs section`);
  return { name, host: row.host ?? deps.config.DECKHAND_HOST_NAME, configs: spec.configs };
}

type Loaded = Awaited<ReturnType<typeof configTarget>>;

export function checkedPath(t: Loaded, file: string): string {
  if (!isConfigPath(t.configs, file))
    throw badRequest(`${file} is not one of ${t.name}'s config files`, {
      fieldErrors: { path: [`not matched by ${t.configs.files.join(', ')}`] },
    });
  return file;
}

export async function listConfigs(deps: AppDeps, t: Loaded): Promise<ConfigItem[]> {
  const reply = (await deps.host.read(t.host, 'config-list', { target: t.name })) as { items: ConfigItem[] };
  return reply.items;
}

export async function readConfig(deps: AppDeps, t: Loaded, file: string): Promise<ConfigFile> {
  const r = (await deps.host.read(t.host, 'config-file', { target: t.name, path: checkedPath(t, file) })) as ConfigFile;
  return { path: r.path, text: r.text, version: r.version, drift: r.drift };
}

export const versionView = (v: ConfigVersionRow) => ({
  version: v.version,
  actor: v.actor,
  createdAt: v.createdAt.toISOString(),
  comment: v.comment,
  origin: v.origin,
  jobId: v.jobId,
  sha256: v.sha256,
  diff: v.diff,
});

export async function configHistory(deps: AppDeps, t: Loaded, file: string) {
  return (await listVersions(deps.db, t.name, checkedPath(t, file))).map(versionView);
}

/** The diff from the latest version to the file on disk (drift), or '' when they agree. */
export async function driftDiff(deps: AppDeps, t: Loaded, file: ConfigFile): Promise<string> {
  if (!file.drift) return '';
  const last = await latestVersion(deps.db, t.name, file.path);
  return last ? unifiedDiff(file.path, last.text, file.text) : '';
}

/** The diff a candidate would make to the live file (the editor's preview). */
export async function previewDiff(deps: AppDeps, t: Loaded, file: string, candidate: string): Promise<string> {
  const live = await readConfig(deps, t, file);
  return unifiedDiff(file, live.text, candidate);
}

/**
 * Records the file on disk as a new version (origin 'adopted'): after an edit outside Deckhand
 * (drift), or to start the history of a file that has none. A file that already agrees with its
 * latest version is a 409.
 */
export async function adoptConfig(deps: AppDeps, user: SessionUser, t: Loaded, file: string, comment: string) {
  if (!comment.trim()) throw badRequest('say why (a comment is required)', { fieldErrors: { comment: ['required'] } });
  const live = await readConfig(deps, t, file);
  if (live.version !== null && !live.drift) throw conflict(`${file} already matches version ${live.version}`);
  const row = await recordVersion(deps.db, {
    target: t.name,
    path: file,
    text: live.text,
    comment: comment.trim().slice(0, 500),
    actor: { id: user.id, name: user.username },
    jobId: null,
    origin: 'adopted',
    before: '',
  });
  await audit(deps.db, { id: user.id, name: user.username }, 'config.adopt', t.name, {
    path: file,
    version: row.version,
  });
  return versionView(row);
}
