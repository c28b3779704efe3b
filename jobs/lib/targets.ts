import path from 'node:path';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../../db/client.ts';
import { targets } from '../../db/schema.ts';
import { forbiddenHost, hostOf } from './endpoints.ts';
import { JobValidationError } from './errors.ts';

/** What a target is and how Deckhand manages it (DESIGN §1). */
export const targetName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - or _');
const absPath = z
  .string()
  .min(2)
  .max(4096)
  .regex(/^\/[^\0\n]*$/, 'must be an absolute path');
const hostPort = z.string().regex(/^[A-Za-z0-9.-]{1,253}:\d{1,5}$/, 'must be host:port');
const signalName = z.enum(['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGWINCH']);

const isRegExp = (source: string) => {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
};

/**
 * What the process a pidfile names must be (DESIGN §9): the app's user can write any PID
 * into its own pidfile, so Deckhand signals it only if it is the declared program.
 */
const processMatch = z
  .strictObject({
    /** The executable, as /proc/<pid>/exe shows it after resolving symlinks (`/usr/bin/python3.11`). */
    exe: absPath.optional(),
    /** A regular expression that the command line (arguments joined by spaces) must match. */
    cmdline: z.string().min(1).max(500).refine(isRegExp, 'must be a valid regular expression').optional(),
    /** The uid the process must run as (real, effective and saved). */
    uid: z.number().int().min(0).max(4_294_967_294).optional(),
  })
  .refine((m) => m.exe !== undefined || m.cmdline !== undefined, 'declare exe, cmdline or both');

export type ProcessMatch = z.infer<typeof processMatch>;

const tls = z.object({
  certPath: absPath,
  keyPath: absPath,
  /** How the new pair is picked up: `nginx -s reload`, a signal to the target, or the target's restart. */
  reload: z.enum(['nginx', 'signal', 'restart']),
  /** For `nginx`: its main config file (nginx -c). */
  nginxConfig: absPath.optional(),
  /** The live endpoint whose served certificate must become the new one. */
  probe: hostPort,
  serverName: z.string().max(253).optional(),
  probeTimeoutSec: z.number().int().min(1).max(600).default(20),
});

/** An argv run without a shell in the release directory: `["npm","ci"]`. */
const argv = z
  .array(
    z
      .string()
      .min(1)
      .max(4096)
      .regex(/^[^\0]*$/),
  )
  .min(1)
  .max(100);

/** A git URL (https, ssh, git, file, scp-like) or an absolute path; never an option. */
const gitRepo = z
  .string()
  .max(2048)
  .regex(/^(?:(?:https?|ssh|git|file):\/\/\S+|[\w.-]+@[\w.-]+:\S+|\/\S*)$/, 'a git URL or an absolute path');

/** A branch, tag or sha: git's ref-name rules, and never something git could read as an option. */
export const gitRef = z
  .string()
  .max(200)
  .regex(/^(?!-)(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._/-]+(?<![./])$/, 'a branch, tag or commit sha');

const deploy = z.object({
  repo: gitRepo,
  branch: gitRef.default('main'),
  /** Releases live here as `<UTC timestamp>-<sha7>`; the `current` symlink sits beside this directory. */
  releasesDir: absPath,
  install: argv.optional(),
  build: argv.optional(),
  migrate: argv.optional(),
  /** Timeout of each of install, build and migrate. */
  stepTimeoutSec: z.number().int().min(1).max(7200).default(900),
  keep: z.number().int().min(2).max(100).default(5),
  healthUrl: z.url({ protocol: /^https?$/ }).optional(),
  healthTimeoutSec: z.number().int().min(1).max(600).optional(),
  /** systemd: the drop-in that receives the secrets as Environment= lines. */
  dropIn: absPath.optional(),
  /** supervisor: the program's config file, written by Deckhand with `command`, `directory` and `environment`. */
  programFile: absPath.optional(),
  command: argv.optional(),
});

/** A path with a glob (`*`, `?`) allowed in its last component only: `/etc/nginx/conf.d/*.conf`. */
const configGlob = absPath.refine((p) => !/[*?[\]]/.test(path.dirname(p)), 'a glob only in the last component');

/** The config files Deckhand edits for this target (DESIGN §10). */
const configs = z.strictObject({
  kind: z.literal('nginx'),
  /** nginx's main file, handed to `nginx -t -c`. */
  main: absPath,
  files: z.array(configGlob).min(1).max(20),
  /** Where a site is enabled by a symlink to its file. */
  enabledDir: absPath.optional(),
});

/** A named log source of a target (DESIGN §10): a file under DECKHAND_LOG_PATHS, a journald unit, or supervisor's output. */
export const logSourceName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'lowercase letters, digits, - or _');
const logSource = z.union([
  z.strictObject({ name: logSourceName, file: absPath }),
  z.strictObject({ name: logSourceName, journal: z.string().regex(/^[A-Za-z0-9@._:-]{1,200}$/, 'a unit name') }),
  z.strictObject({ name: logSourceName, supervisor: z.enum(['stdout', 'stderr']) }),
]);
export type LogSource = z.infer<typeof logSource>;
const logSources = z
  .array(logSource)
  .max(50)
  .refine((l) => new Set(l.map((s) => s.name)).size === l.length, 'source names must be unique');

const common = {
  logs: logSources.default([]),
  configs: configs.optional(),
  healthUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Off only for a health URL served with a certificate this host does not trust (self-signed). */
  healthVerifyTls: z.boolean().default(true),
  healthTimeoutSec: z.number().int().min(1).max(600).default(30),
  /** DNS names the target serves; an uploaded certificate must cover each. */
  names: z.array(z.string().min(1).max(253)).max(50).default([]),
  tls: tls.optional(),
  deploy: deploy.optional(),
  description: z.string().max(500).optional(),
};

export const targetSpec = z.discriminatedUnion('manager', [
  z.object({
    manager: z.literal('systemd'),
    unit: z.string().regex(/^[A-Za-z0-9@._:-]{1,200}\.(service|socket|target)$/, 'a unit name such as nginx.service'),
    ...common,
  }),
  z.object({
    manager: z.literal('supervisor'),
    program: z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/),
    configPath: absPath,
    ...common,
  }),
  z.object({
    manager: z.literal('signal'),
    pidfile: absPath,
    signal: signalName.default('SIGHUP'),
    match: processMatch,
    ...common,
  }),
  z.object({ manager: z.literal('self'), ...common }),
]);

export type TargetSpec = z.infer<typeof targetSpec>;
export type DeploySpec = z.infer<typeof deploy>;
export type ConfigsSpec = z.infer<typeof configs>;

/** Every file path of a spec, so each one can be checked against the allow-list. */
function pathsOf(spec: TargetSpec): [string, string][] {
  const out: [string, string][] = [];
  if (spec.manager === 'supervisor') out.push(['configPath', spec.configPath]);
  if (spec.manager === 'signal') out.push(['pidfile', spec.pidfile]);
  if (spec.tls) {
    out.push(['tls.certPath', spec.tls.certPath], ['tls.keyPath', spec.tls.keyPath]);
    if (spec.tls.nginxConfig) out.push(['tls.nginxConfig', spec.tls.nginxConfig]);
  }
  if (spec.configs) {
    out.push(['configs.main', spec.configs.main]);
    for (const [i, f] of spec.configs.files.entries()) out.push([`configs.files.${i}`, f]);
    if (spec.configs.enabledDir) out.push(['configs.enabledDir', spec.configs.enabledDir]);
  }
  const d = spec.deploy;
  if (d) {
    out.push(['deploy.releasesDir', d.releasesDir]);
    if (d.dropIn) out.push(['deploy.dropIn', d.dropIn]);
    if (d.programFile) out.push(['deploy.programFile', d.programFile]);
  }
  return out;
}

export function isManagedPath(file: string, allowed: readonly string[]): boolean {
  const normal = path.normalize(file);
  return normal === file && allowed.some((prefix) => normal.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`));
}

/** Refuses any path outside DECKHAND_MANAGED_PATHS (or not in normal form, e.g. with `..`). */
export function assertManagedPaths(spec: TargetSpec, allowed: readonly string[]): void {
  const bad = pathsOf(spec).filter(([, p]) => !isManagedPath(p, allowed));
  if (bad.length > 0) {
    throw new JobValidationError('paths outside the managed directories', {
      fieldErrors: Object.fromEntries(bad.map(([k, p]) => [k, [`${p} is not under ${allowed.join(', ')}`]])),
    });
  }
}

/** The deploy section's fields must fit the service manager, and a deploy needs a health check to gate it. */
export function assertDeployConsistent(spec: TargetSpec): void {
  const d = spec.deploy;
  if (!d) return;
  const errors: Record<string, string[]> = {};
  if (!d.healthUrl && !spec.healthUrl)
    errors['deploy.healthUrl'] = ['a deploy needs a health URL to decide on rollback'];
  if (d.dropIn && spec.manager !== 'systemd') errors['deploy.dropIn'] = ['only for systemd targets'];
  if (d.programFile && spec.manager !== 'supervisor') errors['deploy.programFile'] = ['only for supervisor targets'];
  if (d.programFile && !d.command) errors['deploy.command'] = ['needed with deploy.programFile'];
  if (Object.keys(errors).length > 0) {
    throw new JobValidationError('the deploy settings do not fit this target', { fieldErrors: errors });
  }
}

/**
 * Health URLs and the TLS probe may not point at link-local or cloud metadata addresses
 * (an admin could otherwise read the host's cloud credentials through a job's output).
 * The worker checks the resolved address again when it connects (worker/endpoint-guard.ts).
 */
export function assertSafeEndpoints(spec: TargetSpec): void {
  const endpoints: [string, string][] = [];
  if (spec.healthUrl) endpoints.push(['healthUrl', spec.healthUrl]);
  if (spec.deploy?.healthUrl) endpoints.push(['deploy.healthUrl', spec.deploy.healthUrl]);
  if (spec.tls) endpoints.push(['tls.probe', spec.tls.probe]);
  const bad = endpoints.flatMap(([field, e]) => {
    const why = forbiddenHost(hostOf(e));
    return why ? [[field, [why]] as const] : [];
  });
  if (bad.length > 0) {
    throw new JobValidationError('health and probe endpoints may not be link-local or metadata addresses', {
      fieldErrors: Object.fromEntries(bad),
    });
  }
}

export interface Target {
  name: string;
  spec: TargetSpec;
  secretEnv: Uint8Array | null;
}

/**
 * A stored target, checked again as at save time: it may have been saved under a wider
 * DECKHAND_MANAGED_PATHS or by an older version, and is refused rather than acted on.
 */
export async function loadTarget(env: { db: Db; managedPaths: readonly string[] }, name: string): Promise<Target> {
  const [row] = await env.db.select().from(targets).where(eq(targets.name, name));
  if (!row) throw new JobValidationError(`unknown target: ${name}`, { target: ['no such target'] });
  const spec = targetSpec.safeParse(row.spec);
  if (!spec.success) {
    const { fieldErrors } = z.flattenError(spec.error);
    const fields = Object.keys(fieldErrors).join(', ');
    throw new JobValidationError(
      `the stored settings of target ${name} are no longer valid (${fields}); save it again`,
      {
        fieldErrors,
      },
    );
  }
  assertManagedPaths(spec.data, env.managedPaths);
  assertSafeEndpoints(spec.data);
  return { name: row.name, spec: spec.data, secretEnv: row.secretEnv };
}
