import type { SessionUser } from '../server/auth/sessions.ts';
import { Layout } from './layout.tsx';
import {
  errorsOf,
  Field,
  FieldError,
  type FieldErrors,
  type FormState,
  MANAGERS,
  ManagerFields,
  Select,
  TextArea,
} from './target-fields.tsx';
import type { TargetFormMode, TargetFormValues } from './types.ts';

/** A section folded unless it holds something (or an error): most targets need none of them. */
function Section(p: { s: FormState; id: string; title: string; prefixes: string[]; children: unknown }) {
  const { fields } = p.s.values;
  const touched = (k: string) => p.prefixes.some((x) => k === x || k.startsWith(`${x}.`));
  // A select always posts a value (tls.reload), so it alone does not open its section.
  const open =
    Object.entries(fields).some(([k, v]) => touched(k) && k !== 'tls.reload' && v.trim() !== '') ||
    Object.keys(p.s.errors).some(touched) ||
    (p.id === 'logs' && p.s.values.logs.length > 0) ||
    (p.id === 'env' && p.s.values.env.length > 0);
  return (
    <details id={`section-${p.id}`} open={open}>
      <summary>{p.title}</summary>
      {p.children as never}
    </details>
  );
}

export function LogRow({ row, i, errors }: { row: TargetFormValues['logs'][number]; i: number; errors: FieldErrors }) {
  return (
    <div class="row-fields" data-log-row={i}>
      <input name="logs.name" value={row.name} placeholder="access" aria-label="source name" />
      <select name="logs.kind" aria-label="source kind">
        {(['file', 'journal', 'supervisor'] as const).map((k) => (
          <option value={k} selected={k === row.kind}>
            {k}
          </option>
        ))}
      </select>
      <input
        name="logs.value"
        value={row.value}
        placeholder="/var/log/nginx/access.log"
        aria-label="path, unit or stream"
      />
      <FieldError name={`logs.${i}`} messages={errorsOf(errors, `logs.${i}`)} />
    </div>
  );
}

export function EnvRow({ row, i, errors }: { row: TargetFormValues['env'][number]; i: number; errors: FieldErrors }) {
  return (
    <div class="row-fields" data-env-row={i}>
      <input name="env.name" value={row.name} placeholder="DATABASE_URL" aria-label="variable name" />
      {/* A stored value never comes back to the page: blank keeps it. */}
      <input
        name="env.value"
        type="password"
        autocomplete="off"
        value={row.set ? '' : row.value}
        placeholder={row.set ? 'set (leave blank to keep)' : 'value'}
        aria-label={`value of ${row.name || 'the variable'}`}
      />
      {row.set && <span class="badge">set</span>}
      <FieldError name={`env.${i}`} messages={errorsOf(errors, `env.${i}`)} />
    </div>
  );
}

function AddRow(p: { what: string; into: string; label: string }) {
  return (
    <button
      type="button"
      class="small secondary"
      hx-get={`/fragments/target-form/${p.what}`}
      hx-target={p.into}
      hx-swap="beforeend"
    >
      {p.label}
    </button>
  );
}

/** Errors no field shows (or all of them, for a screen reader), above the form. */
function Summary({ errors }: { errors: FieldErrors }) {
  const entries = Object.entries(errors);
  if (entries.length === 0) return null;
  return (
    <div class="error" role="alert" id="target-form-errors">
      <strong>The target was not saved.</strong>
      <ul>
        {entries.map(([k, v]) => (
          <li>
            <code>{k}</code>: {v.join('; ')}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The target form itself: swapped whole (outerHTML) with its errors when the server refuses it. */
export function TargetForm({ s, mode }: { s: FormState; mode: TargetFormMode }) {
  const { values } = s;
  return (
    <form id="target-form" class="card" hx-post="/ui/targets/form" hx-target="this" hx-swap="outerHTML">
      <Summary errors={s.errors} />
      <input type="hidden" name="mode" value={mode.kind} />
      {mode.secretsFrom && <input type="hidden" name="secretsFrom" value={mode.secretsFrom} />}
      <Field
        s={s}
        name="name"
        label="Name"
        required
        readonly={mode.kind === 'edit'}
        hint="lowercase letters, digits, - or _"
      />
      <Field s={s} name="description" label="Description" />
      <label>
        Service manager
        <select
          name="manager"
          hx-get="/fragments/target-form/manager"
          hx-target="#manager-fields"
          hx-swap="outerHTML"
          hx-trigger="change"
        >
          {MANAGERS.map((m) => (
            <option value={m} selected={m === (values.fields.manager ?? 'systemd')}>
              {m}
            </option>
          ))}
        </select>
      </label>
      <ManagerFields s={s} />
      <Section s={s} id="health" title="Health check" prefixes={['healthUrl', 'healthTimeoutSec', 'healthInsecure']}>
        <Field s={s} name="healthUrl" label="Health URL" placeholder="http://127.0.0.1:8000/health" />
        <Field s={s} name="healthTimeoutSec" label="Timeout (seconds)" type="number" placeholder="30" />
        <label>
          <input type="checkbox" name="healthInsecure" checked={Boolean(values.fields.healthInsecure)} /> Accept a
          certificate this host does not trust (self-signed)
        </label>
      </Section>
      <Section s={s} id="tls" title="Names and TLS certificate" prefixes={['names', 'tls']}>
        <Field s={s} name="names" label="DNS names" hint="comma-separated; an uploaded certificate must cover each" />
        <Field s={s} name="tls.certPath" label="Certificate file" placeholder="/etc/ssl/shop.crt" />
        <Field s={s} name="tls.keyPath" label="Key file" placeholder="/etc/ssl/shop.key" />
        <Select s={s} name="tls.reload" label="Picked up by" options={['restart', 'signal', 'nginx']} />
        <Field s={s} name="tls.nginxConfig" label="nginx main config (for nginx)" />
        <Field s={s} name="tls.probe" label="Live endpoint to probe" placeholder="127.0.0.1:443" />
        <Field s={s} name="tls.serverName" label="Server name (SNI)" />
        <Field s={s} name="tls.probeTimeoutSec" label="Probe timeout (seconds)" type="number" placeholder="20" />
      </Section>
      <Section s={s} id="deploy" title="Deploys" prefixes={['deploy']}>
        <Field s={s} name="deploy.repo" label="Git repository" placeholder="https://git.example.com/shop.git" />
        <Field s={s} name="deploy.branch" label="Branch" placeholder="main" />
        <Field s={s} name="deploy.releasesDir" label="Releases directory" placeholder="/srv/shop/releases" />
        <p class="muted">Commands run without a shell: words split by spaces, or a JSON array.</p>
        <Field s={s} name="deploy.install" label="Install" placeholder="npm ci" />
        <Field s={s} name="deploy.build" label="Build" placeholder="npm run build" />
        <Field s={s} name="deploy.migrate" label="Migrate" />
        <Field s={s} name="deploy.stepTimeoutSec" label="Step timeout (seconds)" type="number" placeholder="900" />
        <Field s={s} name="deploy.keep" label="Releases kept" type="number" placeholder="5" />
        <Field s={s} name="deploy.healthUrl" label="Health URL after a deploy" />
        <Field s={s} name="deploy.healthTimeoutSec" label="Its timeout (seconds)" type="number" />
        <Field s={s} name="deploy.dropIn" label="systemd drop-in for the secrets" />
        <Field s={s} name="deploy.programFile" label="supervisor program file" />
        <Field s={s} name="deploy.command" label="supervisor command" />
      </Section>
      <Section s={s} id="logs" title="Log sources" prefixes={['logs']}>
        <FieldError name="logs" messages={s.errors.logs ?? []} />
        <div id="log-rows">
          {[...values.logs, { name: '', kind: 'file' as const, value: '' }].map((row, i) => (
            <LogRow row={row} i={i} errors={s.errors} />
          ))}
        </div>
        <AddRow what="log-row" into="#log-rows" label="Add a log source" />
      </Section>
      <Section s={s} id="configs" title="Config files (nginx)" prefixes={['configs']}>
        <Field s={s} name="configs.main" label="nginx main file" placeholder="/etc/nginx/nginx.conf" />
        <TextArea s={s} name="configs.files" label="Files" hint="one path a line; a glob in the last part" />
        <Field s={s} name="configs.enabledDir" label="sites-enabled directory" />
      </Section>
      <Section s={s} id="env" title="Environment secrets" prefixes={['env']}>
        <p class="muted">Stored encrypted and never shown again. Clear a name to remove its secret.</p>
        <FieldError name="env" messages={s.errors.env ?? []} />
        <div id="env-rows">
          {[...values.env, { name: '', value: '', set: false }].map((row, i) => (
            <EnvRow row={row} i={i} errors={s.errors} />
          ))}
        </div>
        <AddRow what="env-row" into="#env-rows" label="Add a secret" />
      </Section>
      <button type="submit">{mode.kind === 'edit' ? 'Save changes' : 'Create target'}</button>
    </form>
  );
}

const titles = { create: 'New target', edit: 'Edit target', duplicate: 'Duplicate target' } as const;

export function TargetFormPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  s: FormState;
  mode: TargetFormMode;
}) {
  const title = p.mode.kind === 'create' ? titles.create : `${titles[p.mode.kind]} ${p.mode.secretsFrom}`;
  return (
    <Layout title={title} user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      {p.mode.kind === 'duplicate' && (
        <p class="card muted">
          The copy gets the secrets of {p.mode.secretsFrom} under the names listed, unless you type new values; they are
          copied on the server and never shown.
        </p>
      )}
      <TargetForm s={p.s} mode={p.mode} />
    </Layout>
  );
}
