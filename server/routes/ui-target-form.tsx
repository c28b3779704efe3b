import { Hono } from 'hono';
import { publicSpec } from '../../jobs/lib/repo-credential.ts';
import { openEnv } from '../../jobs/lib/secret-box.ts';
import { type TargetSpec, targetName, targetSpec } from '../../jobs/lib/targets.ts';
import type { FieldErrors, FormState } from '../../views/target-fields.tsx';
import { ManagerFields } from '../../views/target-fields.tsx';
import { EnvRow, LogRow, TargetForm, TargetFormPage } from '../../views/target-form.tsx';
import { TargetImportPage } from '../../views/target-import.tsx';
import type { TargetFormMode, TargetFormValues } from '../../views/types.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { pageOf } from '../context.ts';
import { notFound, toHttpError } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import { envFromValues, issuesByPath, specFromValues, valuesFromBody, valuesFromSpec } from '../target-form.ts';
import { deleteTarget, findTargetRow, releaseTargetLock, saveTarget } from '../target-service.ts';

const empty: TargetFormValues = { fields: { manager: 'systemd' }, logs: [], env: [] };

/** A stored target as the form shows it, or a 404. */
async function storedValues(deps: AppDeps, name: string): Promise<TargetFormValues> {
  const row = await findTargetRow(deps.db, name);
  if (!row) throw notFound('target');
  return valuesFromSpec(
    name,
    publicSpec(row.spec as TargetSpec),
    Object.keys(openEnv(deps.env.secrets, row.secretEnv)),
  );
}

const modeOf = (body: Record<string, unknown>): TargetFormMode => ({
  kind: body.mode === 'edit' ? 'edit' : body.mode === 'duplicate' ? 'duplicate' : 'create',
  secretsFrom: typeof body.secretsFrom === 'string' && body.secretsFrom ? body.secretsFrom : null,
});

/**
 * Checks the form as the API would (the same zod schema, by full path so each message lands
 * beside its field) and saves it through the API's own saveTarget. Returns the errors, if any.
 */
async function saveFromForm(
  deps: AppDeps,
  user: NonNullable<AppEnv['Variables']['user']>,
  values: TargetFormValues,
  mode: TargetFormMode,
): Promise<{ errors: FieldErrors; kept: string[] }> {
  const errors: FieldErrors = {};
  const name = values.fields.name?.trim() ?? '';
  const validName = targetName.safeParse(name);
  if (!validName.success) errors.name = validName.error.issues.map((i) => i.message);
  const existing = validName.success ? await findTargetRow(deps.db, name) : null;
  if (mode.kind !== 'edit' && existing) errors.name = [`a target named ${name} exists already`];
  if (mode.kind === 'edit' && !existing) errors.name = [`there is no target ${name} (deleted meanwhile?)`];
  const source = mode.secretsFrom ? await findTargetRow(deps.db, mode.secretsFrom) : null;
  const kept = openEnv(deps.env.secrets, source?.secretEnv ?? null);
  const env = envFromValues(values, kept);
  Object.assign(errors, env.errors);
  const spec = specFromValues(values);
  const parsed = targetSpec.safeParse(spec);
  if (!parsed.success) Object.assign(errors, issuesByPath(parsed.error));
  const keptNames = Object.keys(kept);
  if (Object.keys(errors).length > 0) return { errors, kept: keptNames };
  // Unchanged secrets of the target itself are not sent, so the audit row says nothing was replaced.
  const unchanged = mode.secretsFrom === name && JSON.stringify(env.env) === JSON.stringify(kept);
  try {
    await saveTarget(deps, user, name, unchanged ? spec : { ...spec, env: env.env });
    return { errors: {}, kept: keptNames };
  } catch (err) {
    const e = toHttpError(err);
    if (e?.status !== 400) throw err;
    const fields = (e.details as { fieldErrors?: FieldErrors } | null)?.fieldErrors;
    return { errors: fields && Object.keys(fields).length > 0 ? fields : { target: [e.message] }, kept: keptNames };
  }
}

export const targetFormPages = new Hono<AppEnv>()
  .get('/targets/new', requireRole('admin'), (c) =>
    c.html(
      <TargetFormPage {...pageOf(c)} s={{ values: empty, errors: {} }} mode={{ kind: 'create', secretsFrom: null }} />,
    ),
  )
  .get('/targets/import', requireRole('admin'), (c) => c.html(<TargetImportPage {...pageOf(c)} />))
  .get('/targets/:name/edit', requireRole('admin'), async (c) => {
    const name = c.req.param('name');
    const values = await storedValues(c.var.deps, name);
    const mode: TargetFormMode = { kind: 'edit', secretsFrom: name };
    return c.html(<TargetFormPage {...pageOf(c)} s={{ values, errors: {} }} mode={mode} />);
  })
  .get('/targets/:name/duplicate', requireRole('admin'), async (c) => {
    const name = c.req.param('name');
    const stored = await storedValues(c.var.deps, name);
    const values = { ...stored, fields: { ...stored.fields, name: `${name}-copy`.slice(0, 63) } };
    const mode: TargetFormMode = { kind: 'duplicate', secretsFrom: name };
    return c.html(<TargetFormPage {...pageOf(c)} s={{ values, errors: {} }} mode={mode} />);
  })
  .get('/targets/:name/export.json', requireRole('viewer'), async (c) => {
    const name = c.req.param('name');
    const row = await findTargetRow(c.var.deps.db, name);
    if (!row) throw notFound('target');
    // The PUT body (with its name), secrets left out: env values never leave, the repo credential stays masked.
    const doc = { name, ...publicSpec(row.spec as TargetSpec) };
    c.header('Content-Disposition', `attachment; filename="${name}.json"`);
    return c.body(`${JSON.stringify(doc, null, 2)}\n`, 200, { 'Content-Type': 'application/json' });
  })
  .get('/fragments/target-form/manager', requireRole('admin'), (c) => {
    const values: TargetFormValues = { ...empty, fields: { ...c.req.query() } };
    return c.html(<ManagerFields s={{ values, errors: {} }} />);
  })
  .get('/fragments/target-form/log-row', requireRole('admin'), (c) =>
    c.html(<LogRow row={{ name: '', kind: 'file', value: '' }} i={-1} errors={{}} />),
  )
  .get('/fragments/target-form/env-row', requireRole('admin'), (c) =>
    c.html(<EnvRow row={{ name: '', value: '', set: false }} i={-1} errors={{}} />),
  )
  .post('/ui/targets/form', requireRole('admin'), async (c) => {
    const body = await c.req.parseBody({ all: true });
    const values = valuesFromBody(body);
    const mode = modeOf(body);
    const { errors, kept } = await saveFromForm(c.var.deps, c.var.user!, values, mode);
    if (Object.keys(errors).length > 0) {
      // Secrets typed in are not sent back: a row shows "set" if a value is stored, else it must be typed again.
      const env = values.env.map((r) => ({ ...r, value: '', set: kept.includes(r.name.trim()) }));
      const s: FormState = { values: { ...values, env }, errors };
      return c.html(<TargetForm s={s} mode={mode} />, 400);
    }
    c.header('HX-Redirect', `/targets/${values.fields.name?.trim()}`);
    return c.body(null, 204);
  })
  .post('/ui/targets/:name/delete', requireRole('admin'), async (c) => {
    await deleteTarget(c.var.deps, c.var.user!, c.req.param('name'));
    c.header('HX-Redirect', '/targets');
    return c.body(null, 204);
  })
  .post('/ui/targets/:name/lock/release', requireRole('admin'), async (c) => {
    await releaseTargetLock(c.var.deps, c.var.user!, c.req.param('name'));
    c.header('HX-Refresh', 'true');
    return c.body(null, 204);
  });
