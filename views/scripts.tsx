import type { ParamSpec, Script } from '../jobs/lib/manifest.ts';
import type { SessionUser } from '../server/auth/sessions.ts';
import { Layout } from './layout.tsx';

function ParamInput({ name, spec }: { name: string; spec: ParamSpec }) {
  const common = { name, id: `p-${name}`, required: spec.required && spec.default === undefined };
  switch (spec.type) {
    case 'enum':
      return (
        <select {...common}>
          {!common.required && <option value="">—</option>}
          {spec.values.map((v) => (
            <option value={v} selected={v === spec.default}>
              {v}
            </option>
          ))}
        </select>
      );
    case 'int':
      return (
        <input type="number" step="1" min={spec.min} max={spec.max} value={spec.default?.toString()} {...common} />
      );
    case 'string':
      return (
        <input
          type="text"
          minlength={spec.minLength || undefined}
          maxlength={spec.maxLength}
          pattern={spec.pattern}
          value={spec.default}
          {...common}
        />
      );
    case 'bool':
      return <input type="checkbox" value="true" checked={spec.default === true} name={name} id={`p-${name}`} />;
  }
}

/** A run form generated from the script's manifest. */
export function ScriptForm({ script, canRun }: { script: Script; canRun: boolean }) {
  const params = Object.entries(script.manifest.params);
  return (
    <form
      class="card"
      hx-post={`/ui/scripts/${script.name}/run`}
      hx-target={`#err-${script.name}`}
      data-script={script.name}
    >
      <h2>{script.name}</h2>
      <p>{script.manifest.description}</p>
      {params.map(([name, spec]) => (
        <label for={`p-${name}`}>
          {name}
          {spec.required ? ' *' : ''} <ParamInput name={name} spec={spec} />
          {spec.description && <small>{spec.description}</small>}
        </label>
      ))}
      <p class="muted">Times out after {script.manifest.timeoutSec} s.</p>
      <div id={`err-${script.name}`} class="error" />
      {canRun ? <button type="submit">Run</button> : <p class="muted">Operators and admins can run scripts.</p>}
    </form>
  );
}

export function ScriptsPage(p: { user: SessionUser; csrfToken: string | null; pagePath: string; scripts: Script[] }) {
  const canRun = p.user.role !== 'viewer';
  return (
    <Layout title="Scripts" user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <div class="grid">
        {p.scripts.map((s) => (
          <ScriptForm script={s} canRun={canRun} />
        ))}
      </div>
      {p.scripts.length === 0 && <p class="muted">No allow-listed scripts in the scripts directory.</p>}
    </Layout>
  );
}

/** The readable reason a run was refused, swapped into the form. */
export function FormError({ message, details }: { message: string; details: unknown }) {
  const fields = (details as { fieldErrors?: Record<string, string[]> } | null)?.fieldErrors ?? {};
  return (
    <div>
      <strong>{message}</strong>
      <ul>
        {Object.entries(fields).map(([k, v]) => (
          <li>
            {k}: {v.join(', ')}
          </li>
        ))}
      </ul>
    </div>
  );
}
