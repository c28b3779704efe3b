import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { JobValidationError } from './errors.ts';

/** Script names are plain words: nothing that could climb out of the scripts directory. */
export const scriptName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be lowercase letters, digits, - or _');

const paramName = z.string().regex(/^[a-z][a-zA-Z0-9_]{0,39}$/);
const common = { required: z.boolean().default(false), description: z.string().max(500).optional() };

const paramSpec = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('enum'),
    values: z.array(z.string().min(1).max(200)).min(1),
    default: z.string().optional(),
    ...common,
  }),
  z.object({
    type: z.literal('int'),
    min: z.number().int().optional(),
    max: z.number().int().optional(),
    default: z.number().int().optional(),
    ...common,
  }),
  z
    .object({
      type: z.literal('string'),
      pattern: z.string().optional(),
      /** A search pattern of one letter matches every line: a script that reads logs asks for more. */
      minLength: z.number().int().min(0).max(4096).default(0),
      maxLength: z.number().int().min(1).max(4096).default(256),
      default: z.string().optional(),
      ...common,
    })
    .refine((p) => p.minLength <= p.maxLength, 'minLength must not exceed maxLength'),
  z.object({ type: z.literal('bool'), default: z.boolean().optional(), ...common }),
]);

export const manifestSchema = z.object({
  description: z.string().min(1).max(1000),
  timeoutSec: z.number().int().min(1).max(86_400).default(60),
  params: z.record(paramName, paramSpec).default({}),
});

export type ParamSpec = z.infer<typeof paramSpec>;
export type Manifest = z.infer<typeof manifestSchema>;

export interface Script {
  name: string;
  /** Absolute path of the executable, checked to lie inside the scripts directory. */
  file: string;
  manifest: Manifest;
}

function valueSchema(spec: ParamSpec): z.ZodType {
  switch (spec.type) {
    case 'enum':
      return z.enum(spec.values as [string, ...string[]]);
    case 'int': {
      let s = z.number().int();
      if (spec.min !== undefined) s = s.min(spec.min);
      if (spec.max !== undefined) s = s.max(spec.max);
      return z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v), s);
    }
    case 'string': {
      // No control characters: values become argv entries and log lines.
      let s = z
        .string()
        .min(spec.minLength, `must be at least ${spec.minLength} characters`)
        .max(spec.maxLength)
        .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');
      if (spec.pattern) s = s.regex(new RegExp(`^(?:${spec.pattern})$`), `must match ${spec.pattern}`);
      return s;
    }
    case 'bool':
      return z.preprocess((v) => (v === 'true' || v === 'on' ? true : v === 'false' ? false : v), z.boolean());
  }
}

/** Builds the zod schema of a script's parameters; unknown parameters are rejected. */
export function paramsSchema(manifest: Manifest) {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, spec] of Object.entries(manifest.params)) {
    const base = valueSchema(spec);
    shape[name] =
      spec.default !== undefined ? base.default(spec.default as never) : spec.required ? base : base.optional();
  }
  return z.strictObject(shape);
}

export function validateParams(script: Script, params: unknown): Record<string, unknown> {
  const parsed = paramsSchema(script.manifest).safeParse(params ?? {});
  if (!parsed.success) {
    throw new JobValidationError(`invalid parameters for script ${script.name}`, z.flattenError(parsed.error));
  }
  return parsed.data as Record<string, unknown>;
}

/** `--name=value` arguments in manifest order; no shell ever sees them. */
export function buildArgv(manifest: Manifest, params: Record<string, unknown>): string[] {
  return Object.keys(manifest.params)
    .filter((name) => params[name] !== undefined)
    .map((name) => `--${name}=${String(params[name])}`);
}

async function findExecutable(dir: string, name: string): Promise<string | null> {
  const entries = await fs.readdir(dir);
  for (const entry of entries) {
    if (entry.endsWith('.json') || (entry !== name && path.parse(entry).name !== name)) continue;
    const file = await fs.realpath(path.join(dir, entry));
    if (path.dirname(file) !== dir) continue; // a symlink that escapes the directory
    const stat = await fs.stat(file);
    if (stat.isFile() && stat.mode & 0o111) return file;
  }
  return null;
}

export async function loadScript(scriptsDir: string, name: string): Promise<Script> {
  const ok = scriptName.safeParse(name);
  if (!ok.success) throw new JobValidationError(`invalid script name`, { script: ok.error.issues[0]?.message });
  const dir = await fs.realpath(scriptsDir);
  let raw: string;
  try {
    raw = await fs.readFile(path.join(dir, `${name}.json`), 'utf8');
  } catch {
    throw new JobValidationError(`unknown script: ${name}`, { script: 'no such allow-listed script' });
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new JobValidationError(`the manifest of ${name} is not valid JSON`);
  }
  const manifest = manifestSchema.safeParse(json);
  if (!manifest.success)
    throw new JobValidationError(`the manifest of ${name} is invalid`, z.flattenError(manifest.error));
  const file = await findExecutable(dir, name);
  if (!file) throw new JobValidationError(`script ${name} has a manifest but no executable file`);
  return { name, file, manifest: manifest.data };
}

/** Every script that has a valid manifest and an executable; broken ones are skipped. */
export async function listScripts(scriptsDir: string): Promise<Script[]> {
  const names = (await fs.readdir(scriptsDir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  const loaded = await Promise.allSettled(names.sort().map((n) => loadScript(scriptsDir, n)));
  return loaded.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
}
