import type { z } from 'zod';
import type { TargetSpec } from '../jobs/lib/targets.ts';
import type { TargetFormValues } from '../views/types.ts';
import { parseFormJson } from './text-guard.ts';

/**
 * The target form (views/target-form.tsx) and the target object of `PUT /api/targets/:name`,
 * both ways: fields are named by the spec's own paths (`tls.certPath`, `match.cmdline`), so a
 * zod issue's path names the field to show it beside.
 */

type Body = Record<string, string | File | (string | File)[]>;

const all = (v: Body[string] | undefined): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v]).map((x) => (typeof x === 'string' ? x : ''));

const LOG_KINDS = ['file', 'journal', 'supervisor'] as const;

/** The form as posted (hono's parseBody with `all: true`): scalar fields, log rows and env rows. */
export function valuesFromBody(body: Body): TargetFormValues {
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) {
    if (k === '_csrf' || k.startsWith('logs.') || k.startsWith('env.')) continue;
    fields[k] = all(v)[0] ?? '';
  }
  const [logNames, logKinds, logValues] = [all(body['logs.name']), all(body['logs.kind']), all(body['logs.value'])];
  // Rows left empty are dropped here, so a zod path such as logs.2 counts the rows that were filled in.
  const logs = logNames
    .map((name, i) => {
      const kind = LOG_KINDS.find((k) => k === logKinds[i]) ?? 'file';
      return { name, kind, value: logValues[i] ?? '' };
    })
    .filter((l) => l.name.trim() || l.value.trim());
  const [envNames, envValues] = [all(body['env.name']), all(body['env.value'])];
  const env = envNames
    .map((name, i) => ({ name, value: envValues[i] ?? '', set: false }))
    .filter((r) => r.name.trim() || r.value);
  return { fields, logs, env };
}

/** A stored target as the form shows it: secrets by name only ("set"), never their values. */
export function valuesFromSpec(name: string, spec: TargetSpec, secretNames: string[]): TargetFormValues {
  const f: Record<string, string> = { name, manager: spec.manager };

  const put = (key: string, v: unknown) => {
    if (v === undefined || v === null) return;
    f[key] = Array.isArray(v) ? argvText(v as string[]) : String(v);
  };
  const {
    manager,
    logs: _logs,
    names: _names,
    tls,
    deploy,
    configs,
    match,
    ...top
  } = spec as TargetSpec & {
    match?: object;
  };
  // Top-level scalars (unit, program, pidfile, signal, healthUrl, ...) are named as they are.
  for (const [k, v] of Object.entries(top)) if (k !== 'healthVerifyTls') put(k, v);
  for (const [k, v] of Object.entries(match ?? {})) put(`match.${k}`, v);
  if (!spec.healthVerifyTls) f.healthInsecure = 'on';
  f.names = spec.names.join(', ');
  for (const [k, v] of Object.entries(tls ?? {})) put(`tls.${k}`, v);
  for (const [k, v] of Object.entries(deploy ?? {})) put(`deploy.${k}`, v);
  for (const [k, v] of Object.entries(configs ?? {})) if (k !== 'files') put(`configs.${k}`, v);
  if (configs) f['configs.files'] = configs.files.join('\n');
  const logs = spec.logs.map((l) => {
    const kind = 'file' in l ? 'file' : 'journal' in l ? 'journal' : 'supervisor';
    const value = 'file' in l ? l.file : 'journal' in l ? l.journal : l.supervisor;
    return { name: l.name, kind, value } as const;
  });
  return { fields: f, logs, env: secretNames.map((n) => ({ name: n, value: '', set: true })) };
}

/** An argv as one line: words split by spaces, or a JSON array when a word has a space of its own. */
function argvText(argv: string[]): string {
  return argv.some((a) => /\s/.test(a) || a === '') ? JSON.stringify(argv) : argv.join(' ');
}

/** What the form's fields say the target is, before validation (zod says what is wrong, by path). */
export function specFromValues(v: TargetFormValues): Record<string, unknown> {
  const f = v.fields;
  const text = (k: string) => f[k]?.trim() || undefined;
  const num = (k: string) => {
    const t = text(k);
    return t !== undefined && /^-?\d+$/.test(t) ? Number(t) : t;
  };
  const argv = (k: string) => {
    const t = text(k);
    if (t === undefined || !t.startsWith('[')) return t?.split(/\s+/);
    // Not JSON: zod names it (an array was expected).
    return parseFormJson(t, k)?.value ?? t;
  };
  const anyOf = (...keys: string[]) => keys.some((k) => text(k) !== undefined);
  const manager = text('manager');
  const spec: Record<string, unknown> = {
    manager,
    ...(manager === 'systemd' ? { unit: text('unit') } : {}),
    ...(manager === 'supervisor' ? { program: text('program'), configPath: text('configPath') } : {}),
    ...(manager === 'signal'
      ? {
          pidfile: text('pidfile'),
          signal: text('signal'),
          match: { exe: text('match.exe'), cmdline: text('match.cmdline'), uid: num('match.uid') },
        }
      : {}),
    description: text('description'),
    healthUrl: text('healthUrl'),
    healthVerifyTls: f.healthInsecure ? false : undefined,
    healthTimeoutSec: num('healthTimeoutSec'),
    names: (text('names') ?? '').split(/[\s,]+/).filter(Boolean),
    logs: v.logs.map((l) => ({ name: l.name.trim(), [l.kind]: l.value.trim() })),
  };
  if (anyOf('tls.certPath', 'tls.keyPath', 'tls.probe', 'tls.nginxConfig', 'tls.serverName')) {
    spec.tls = {
      certPath: text('tls.certPath'),
      keyPath: text('tls.keyPath'),
      reload: text('tls.reload'),
      nginxConfig: text('tls.nginxConfig'),
      probe: text('tls.probe'),
      serverName: text('tls.serverName'),
      probeTimeoutSec: num('tls.probeTimeoutSec'),
    };
  }
  if (anyOf('deploy.repo', 'deploy.releasesDir')) {
    spec.deploy = {
      repo: text('deploy.repo'),
      branch: text('deploy.branch'),
      releasesDir: text('deploy.releasesDir'),
      install: argv('deploy.install'),
      build: argv('deploy.build'),
      migrate: argv('deploy.migrate'),
      stepTimeoutSec: num('deploy.stepTimeoutSec'),
      keep: num('deploy.keep'),
      healthUrl: text('deploy.healthUrl'),
      healthTimeoutSec: num('deploy.healthTimeoutSec'),
      dropIn: text('deploy.dropIn'),
      programFile: text('deploy.programFile'),
      command: argv('deploy.command'),
    };
  }
  if (anyOf('configs.main', 'configs.files', 'configs.enabledDir')) {
    spec.configs = {
      kind: 'nginx',
      main: text('configs.main'),
      files: (text('configs.files') ?? '')
        .split(/\n/)
        .map((s) => s.trim())
        .filter(Boolean),
      enabledDir: text('configs.enabledDir'),
    };
  }
  return withoutUndefined(spec) as Record<string, unknown>;
}

/** Drops keys whose value is undefined, so strict objects see only what was filled in. */
function withoutUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutUndefined);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => [k, withoutUndefined(x)]),
  );
}

/**
 * The env rows as the secrets to store. A row left blank keeps the value stored under its name
 * in `kept` (the target being edited, or the one being duplicated); a new name needs a value.
 */
export function envFromValues(
  v: TargetFormValues,
  kept: Record<string, string>,
): { env: Record<string, string>; errors: Record<string, string[]> } {
  const env: Record<string, string> = {};
  const errors: Record<string, string[]> = {};
  for (const [i, row] of v.env.entries()) {
    const name = row.name.trim();
    if (!name) continue;
    const value = row.value === '' ? kept[name] : row.value;
    if (value === undefined) errors[`env.${i}.value`] = ['a value is needed for a new secret'];
    else env[name] = value;
  }
  return { env, errors };
}

/** Zod issues by their full dotted path (`tls.certPath`, `logs.0.file`), as the form names its fields. */
export function issuesByPath(error: z.ZodError): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const key = issue.path.map(String).join('.') || 'target';
    out[key] = [...(out[key] ?? []), issue.message];
  }
  return out;
}
