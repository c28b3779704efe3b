import type { TargetFormValues } from './types.ts';

/** Validation messages by field path (`tls.certPath`, `logs.0.file`), as the server found them. */
export type FieldErrors = Record<string, string[]>;

export interface FormState {
  values: TargetFormValues;
  errors: FieldErrors;
}

/** Messages for a field: its own path, and paths inside it (`deploy.install.0` belongs to `deploy.install`). */
export const errorsOf = (errors: FieldErrors, name: string) =>
  Object.entries(errors)
    .filter(([k]) => k === name || k.startsWith(`${name}.`))
    .flatMap(([, v]) => v);

const idOf = (name: string) => `f-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;

/** The messages beside a field; `data-error-for` names the field they belong to. */
export function FieldError({ name, messages }: { name: string; messages: string[] }) {
  if (messages.length === 0) return null;
  return (
    <span class="field-error error" id={`${idOf(name)}-error`} data-error-for={name}>
      {messages.join('; ')}
    </span>
  );
}

interface FieldProps {
  s: FormState;
  name: string;
  label: string;
  hint?: string;
  placeholder?: string;
  required?: boolean;
  readonly?: boolean;
  type?: 'text' | 'number' | 'url';
}

/** A labelled text input, its value as posted (or stored), and its errors right under it. */
export function Field(p: FieldProps) {
  const messages = errorsOf(p.s.errors, p.name);
  return (
    <label>
      {p.label}
      {p.hint && <small class="muted"> {p.hint}</small>}
      <input
        name={p.name}
        id={idOf(p.name)}
        type={p.type ?? 'text'}
        value={p.s.values.fields[p.name] ?? ''}
        placeholder={p.placeholder}
        required={p.required}
        readonly={p.readonly}
        aria-invalid={messages.length > 0 ? 'true' : undefined}
        aria-describedby={messages.length > 0 ? `${idOf(p.name)}-error` : undefined}
      />
      <FieldError name={p.name} messages={messages} />
    </label>
  );
}

export function TextArea(p: FieldProps & { rows?: number }) {
  const messages = errorsOf(p.s.errors, p.name);
  return (
    <label>
      {p.label}
      {p.hint && <small class="muted"> {p.hint}</small>}
      <textarea
        name={p.name}
        id={idOf(p.name)}
        rows={p.rows ?? 3}
        aria-invalid={messages.length > 0 ? 'true' : undefined}
      >
        {p.s.values.fields[p.name] ?? ''}
      </textarea>
      <FieldError name={p.name} messages={messages} />
    </label>
  );
}

export function Select(p: { s: FormState; name: string; label: string; options: readonly string[]; blank?: string }) {
  const current = p.s.values.fields[p.name] ?? '';
  return (
    <label>
      {p.label}
      <select name={p.name} id={idOf(p.name)}>
        {p.blank !== undefined && <option value="">{p.blank}</option>}
        {p.options.map((o) => (
          <option value={o} selected={o === current}>
            {o}
          </option>
        ))}
      </select>
      <FieldError name={p.name} messages={errorsOf(p.s.errors, p.name)} />
    </label>
  );
}

export const SIGNALS = ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGWINCH'] as const;
export const MANAGERS = ['systemd', 'supervisor', 'signal', 'self'] as const;

/** The fields one service manager needs; swapped by htmx when the manager changes. */
export function ManagerFields({ s }: { s: FormState }) {
  const manager = s.values.fields.manager ?? 'systemd';
  return (
    <fieldset id="manager-fields" data-manager={manager}>
      <legend>{manager === 'self' ? 'Deckhand itself' : `Managed by ${manager}`}</legend>
      {manager === 'systemd' && (
        <Field
          s={s}
          name="unit"
          label="Unit"
          placeholder="nginx.service"
          required
          hint="a .service, .socket or .target"
        />
      )}
      {manager === 'supervisor' && (
        <>
          <Field s={s} name="program" label="Program" placeholder="shop" required />
          <Field
            s={s}
            name="configPath"
            label="supervisord config file"
            placeholder="/etc/supervisor/supervisord.conf"
          />
        </>
      )}
      {manager === 'signal' && (
        <>
          <Field s={s} name="pidfile" label="Pidfile" placeholder="/run/app/gunicorn.pid" required />
          <Select s={s} name="signal" label="Reload signal" options={SIGNALS} />
          <p class="muted">
            The process the pidfile names must be this program (declare the executable, the command line or both):
          </p>
          <FieldError name="match" messages={s.errors.match ?? []} />
          <Field s={s} name="match.exe" label="Executable" placeholder="/usr/bin/python3.11" />
          <Field s={s} name="match.cmdline" label="Command line (regular expression)" placeholder="gunicorn" />
          <Field s={s} name="match.uid" label="Runs as uid" type="number" />
        </>
      )}
      {manager === 'self' && <p class="muted">Deckhand restarts itself with a rolling reload; no more fields.</p>}
    </fieldset>
  );
}
