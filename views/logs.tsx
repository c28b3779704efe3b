import type { SessionUser } from '../server/auth/sessions.ts';
import { Layout } from './layout.tsx';
import { Time } from './time.tsx';

/** A log line as the Logs page shows it: matches already cut out for <mark>. */
export interface LogLineView {
  at: string | null;
  level?: string | undefined;
  pieces: { text: string; match: boolean }[];
}

export interface LogFilterView {
  source: string;
  grep: string;
  regex: boolean;
  level: string;
  since: string;
  until: string;
  limit: number;
}

export interface LogsPageView {
  target: string;
  sources: string[];
  filter: LogFilterView;
  lines: LogLineView[];
  nextCursor: string | null;
  followCursor: string | null;
  /** Why no lines could be read (no worker, a refused file), shown instead of them. */
  error: string | null;
}

const levels = ['', 'error', 'warn', 'info', 'debug'];

/** The filter as query parameters, for Older, Follow and Download. */
export function filterQuery(f: LogFilterView, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  q.set('source', f.source);
  if (f.grep) q.set('grep', f.grep);
  if (f.grep && f.regex) q.set('regex', '1');
  if (f.level) q.set('level', f.level);
  if (f.since) q.set('since', f.since);
  if (f.until) q.set('until', f.until);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return q.toString();
}

export function LogLines({ lines }: { lines: LogLineView[] }) {
  return (
    <>
      {lines.map((l) => (
        <li class={`log-line${l.level ? ` level-${l.level}` : ''}`}>
          <Time at={l.at} empty="" />{' '}
          <span class="text">{l.pieces.map((p) => (p.match ? <mark>{p.text}</mark> : p.text))}</span>
        </li>
      ))}
    </>
  );
}

export function OlderButton({
  target,
  filter,
  cursor,
}: {
  target: string;
  filter: LogFilterView;
  cursor: string | null;
}) {
  if (!cursor)
    return (
      <p id="log-older" class="muted">
        No older lines.
      </p>
    );
  return (
    <p id="log-older">
      <button
        type="button"
        hx-get={`/fragments/targets/${target}/logs/older?${filterQuery(filter, { before: cursor, limit: String(filter.limit) })}`}
        hx-target="#log-older"
        hx-swap="outerHTML"
      >
        Older
      </button>
    </p>
  );
}

/** An "Older" answer: the older lines go below the list's last, and the button moves on. */
export function OlderFragment(p: {
  target: string;
  filter: LogFilterView;
  lines: LogLineView[];
  nextCursor: string | null;
}) {
  return (
    <>
      <OlderButton target={p.target} filter={p.filter} cursor={p.nextCursor} />
      <hx-partial hx-target="#log-lines" hx-swap="beforeend">
        <LogLines lines={p.lines} />
      </hx-partial>
    </>
  );
}

/** The Follow poller: while on, it asks for new lines (with the page's grep and level) every 2 s and puts them at the top. */
export function FollowPoller(p: { target: string; filter: LogFilterView; cursor: string | null; on: boolean }) {
  const q = filterQuery({ ...p.filter, since: '', until: '' }, p.cursor ? { after: p.cursor } : {});
  const poll = p.on
    ? { 'hx-get': `/fragments/targets/${p.target}/logs/follow?${q}`, 'hx-trigger': 'every 2s', 'hx-swap': 'outerHTML' }
    : {};
  return (
    <span id="log-follow" data-following={p.on ? 'yes' : 'no'} {...poll}>
      <button
        type="button"
        hx-get={`/fragments/targets/${p.target}/logs/follow?${q}&toggle=${p.on ? 'off' : 'on'}`}
        hx-target="#log-follow"
        hx-swap="outerHTML"
      >
        {p.on ? 'Stop following' : 'Follow'}
      </button>
    </span>
  );
}

export function FollowFragment(p: {
  target: string;
  filter: LogFilterView;
  cursor: string | null;
  on: boolean;
  lines: LogLineView[];
}) {
  return (
    <>
      <FollowPoller target={p.target} filter={p.filter} cursor={p.cursor} on={p.on} />
      {p.lines.length > 0 && (
        <hx-partial hx-target="#log-lines" hx-swap="afterbegin">
          <LogLines lines={[...p.lines].reverse()} />
        </hx-partial>
      )}
    </>
  );
}

export function LogsPage(p: { user: SessionUser; csrfToken: string | null; pagePath: string; view: LogsPageView }) {
  const v = p.view;
  const f = v.filter;
  return (
    <Layout title={`Logs · ${v.target}`} user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <p>
        <a href={`/targets/${v.target}`}>← {v.target}</a>
      </p>
      {v.sources.length === 0 ? (
        <p class="muted">This target declares no log sources (its "logs" section).</p>
      ) : (
        <>
          <form class="card log-filter" method="get" action={`/targets/${v.target}/logs`}>
            <label>
              Source{' '}
              <select name="source">
                {v.sources.map((s) => (
                  <option value={s} selected={s === f.source}>
                    {s}
                  </option>
                ))}
              </select>
            </label>{' '}
            <label>
              Search <input name="grep" value={f.grep} />
            </label>{' '}
            <label>
              <input type="checkbox" name="regex" value="1" checked={f.regex} /> regex
            </label>{' '}
            <label>
              Level{' '}
              <select name="level">
                {levels.map((l) => (
                  <option value={l} selected={l === f.level}>
                    {l === '' ? 'any' : `${l} and worse`}
                  </option>
                ))}
              </select>
            </label>{' '}
            <label>
              Since <input name="since" value={f.since} placeholder="1h or 2024-01-02T03:04" size={16} />
            </label>{' '}
            <label>
              Until <input name="until" value={f.until} size={16} />
            </label>{' '}
            <button type="submit">Show</button>{' '}
            <a href={`/api/targets/${v.target}/logs/download?${filterQuery(f)}`} download>
              Download
            </a>{' '}
            <FollowPoller target={v.target} filter={f} cursor={v.followCursor} on={false} />
          </form>
          {v.error ? (
            <p class="error" id="log-error">
              {v.error}
            </p>
          ) : (
            <>
              <ol id="log-lines" class="log-lines">
                <LogLines lines={v.lines} />
              </ol>
              <OlderButton target={v.target} filter={f} cursor={v.nextCursor} />
            </>
          )}
        </>
      )}
    </Layout>
  );
}
