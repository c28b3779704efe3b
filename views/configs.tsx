import type { SessionUser } from '../server/auth/sessions.ts';
import { Layout } from './layout.tsx';
import { Time } from './time.tsx';

/** Plain shapes of the config pages (DESIGN §10); routes build them from the host seam and PostgreSQL. */
export interface ConfigItemView {
  path: string;
  enabled: boolean | null;
  drift: boolean;
  version: number | null;
}

export interface ConfigFileView {
  target: string;
  path: string;
  text: string;
  version: number | null;
  drift: boolean;
  /** From the latest version to the file on disk, when it drifted. */
  driftDiff: string;
}

export interface ConfigVersionView {
  version: number;
  actor: string;
  createdAt: string;
  comment: string;
  origin: string;
  jobId: string | null;
  diff: string;
}

const isAdmin = (u: SessionUser) => u.role === 'admin';
const fileUrl = (target: string, path: string, page = 'file') =>
  `/targets/${target}/configs/${page}?path=${encodeURIComponent(path)}`;

/** A unified diff, one line per row, added and removed lines marked. */
export function Diff({ text }: { text: string }) {
  if (!text) return <p class="muted">No differences.</p>;
  return (
    <pre class="diff">
      {text.split('\n').map((line) => {
        const cls =
          line.startsWith('+') && !line.startsWith('+++')
            ? 'add'
            : line.startsWith('-') && !line.startsWith('---')
              ? 'del'
              : '';
        return <span class={cls}>{`${line}\n`}</span>;
      })}
    </pre>
  );
}

/** A required comment: every change says why. */
const Comment = ({ label }: { label: string }) => (
  <label>
    Comment <input name="comment" required maxlength={500} aria-label={label} />
  </label>
);

function SiteToggle({ target, item }: { target: string; item: ConfigItemView }) {
  const next = !item.enabled;
  return (
    <form class="inline" hx-post="/ui/configs/enable" hx-target="next .error">
      <input type="hidden" name="target" value={target} />
      <input type="hidden" name="path" value={item.path} />
      <input type="hidden" name="enabled" value={String(next)} />
      <Comment label={`why ${next ? 'enable' : 'disable'} ${item.path}`} />{' '}
      <button type="submit" class="small">
        {next ? 'Enable' : 'Disable'}
      </button>
    </form>
  );
}

export function ConfigListPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  target: string;
  items: ConfigItemView[];
}) {
  return (
    <Layout title={`Configs of ${p.target}`} user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <table class="configs">
        <thead>
          <tr>
            <th>File</th>
            <th>Version</th>
            <th>State</th>
            <th>Site</th>
          </tr>
        </thead>
        <tbody>
          {p.items.map((i) => (
            <tr>
              <td data-label="File">
                <a href={fileUrl(p.target, i.path)}>{i.path}</a>
              </td>
              <td data-label="Version">{i.version === null ? <span class="muted">none yet</span> : `v${i.version}`}</td>
              <td data-label="State">
                {i.drift ? <span class="badge s-failed">drift</span> : <span class="badge">in sync</span>}
              </td>
              <td data-label="Site">
                {i.enabled === null ? (
                  ''
                ) : i.enabled ? (
                  <span class="badge s-succeeded">enabled</span>
                ) : (
                  <span class="badge">disabled</span>
                )}
                {i.enabled !== null && isAdmin(p.user) && <SiteToggle target={p.target} item={i} />}
                <div class="error" />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {p.items.length === 0 && <p class="muted">No file matches this target's config globs.</p>}
    </Layout>
  );
}

function DriftNotice({ f, user }: { f: ConfigFileView; user: SessionUser }) {
  return (
    <section class="drift" role="alert">
      <h2>Drift: the file on disk differs from version {f.version}</h2>
      <p>Someone changed it outside Deckhand. This is the change from version {f.version} to the file on disk:</p>
      <Diff text={f.driftDiff} />
      {isAdmin(user) && (
        <form hx-post="/ui/configs/adopt" hx-target="next .error">
          <input type="hidden" name="target" value={f.target} />
          <input type="hidden" name="path" value={f.path} />
          <Comment label="why adopt the file on disk" /> <button type="submit">Adopt</button>
        </form>
      )}
      <div class="error" />
    </section>
  );
}

function Editor({ f }: { f: ConfigFileView }) {
  return (
    <form id="editor" hx-post="/ui/configs/apply" hx-target="#editor-error">
      <input type="hidden" name="target" value={f.target} />
      <input type="hidden" name="path" value={f.path} />
      <textarea name="text" class="code" rows={24} spellcheck={false} aria-label="config text">
        {/* The parser drops one newline right after <textarea>: this one, not the file's own. */}
        {`\n${f.text}`}
      </textarea>
      <p>
        <Comment label="why this change" />{' '}
        <button type="button" hx-post="/ui/configs/preview" hx-target="#preview" hx-include="#editor">
          Preview diff
        </button>{' '}
        <button type="button" hx-post="/ui/configs/test" hx-target="#editor-error" hx-include="#editor">
          Test
        </button>{' '}
        <button type="submit">Apply</button>
      </p>
      <div id="editor-error" class="error" />
      <div id="preview" />
    </form>
  );
}

export function ConfigFilePage(p: {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  file: ConfigFileView;
}) {
  const f = p.file;
  return (
    <Layout title={f.path} user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <p>
        <a href={`/targets/${f.target}/configs`}>All configs of {f.target}</a> ·{' '}
        <a href={fileUrl(f.target, f.path, 'history')}>History</a> ·{' '}
        {f.version === null ? 'no version recorded yet' : `version ${f.version}`}
      </p>
      {f.drift && <DriftNotice f={f} user={p.user} />}
      <ol class="code lines">
        {f.text
          .replace(/\n$/, '')
          .split('\n')
          .map((line) => (
            <li>
              <code>{line}</code>
            </li>
          ))}
      </ol>
      {isAdmin(p.user) && <Editor f={f} />}
    </Layout>
  );
}

export function ConfigHistoryPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  target: string;
  path: string;
  versions: ConfigVersionView[];
}) {
  return (
    <Layout title={`History of ${p.path}`} user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <p>
        <a href={fileUrl(p.target, p.path)}>Back to the file</a>
      </p>
      {p.versions.length === 0 && <p class="muted">No version recorded yet.</p>}
      {p.versions.map((v) => (
        <section class="version">
          <h2>
            Version {v.version} <span class="badge">{v.origin}</span>
          </h2>
          <p>
            <Time at={v.createdAt} /> by {v.actor}: {v.comment}
            {v.jobId && (
              <>
                {' '}
                (<a href={`/jobs/${v.jobId}`}>job</a>)
              </>
            )}
          </p>
          <Diff text={v.diff} />
          {isAdmin(p.user) && (
            <form class="inline" hx-post="/ui/configs/restore" hx-target="next .error">
              <input type="hidden" name="target" value={p.target} />
              <input type="hidden" name="path" value={p.path} />
              <input type="hidden" name="version" value={String(v.version)} />
              <Comment label={`why restore version ${v.version}`} /> <button type="submit">Restore</button>
            </form>
          )}
          <div class="error" />
        </section>
      ))}
    </Layout>
  );
}

export function ConfigTargetsPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  targets: string[];
}) {
  return (
    <Layout title="Configs" user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      {p.targets.length === 0 && <p class="muted">No target has a configs section.</p>}
      <ul>
        {p.targets.map((t) => (
          <li>
            <a href={`/targets/${t}/configs`}>{t}</a>
          </li>
        ))}
      </ul>
    </Layout>
  );
}

/** A config page whose host no worker answered for: said plainly, with a 503. */
export function NoWorkerPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  target: string;
  message: string;
}) {
  return (
    <Layout title={`Configs of ${p.target}`} user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <p class="error" role="alert">
        {p.message}: the files cannot be read until a worker of that host runs.
      </p>
    </Layout>
  );
}
