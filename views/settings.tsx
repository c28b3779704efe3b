import type { RestartState, Settings } from '../db/settings.ts';
import type { SessionUser } from '../server/auth/sessions.ts';
import { confirmAttrs } from './confirm.tsx';
import { Layout } from './layout.tsx';

/** Where a restart stands; polls while it runs. Once it is done the response redirects to login. */
export function RestartStatus({ state }: { state: RestartState }) {
  const poll =
    state.state === 'restarting'
      ? { 'hx-get': '/fragments/system/restart', 'hx-trigger': 'every 1s', 'hx-swap': 'outerHTML' }
      : {};
  return (
    <div id="restart-status" data-state={state.state} {...poll}>
      {state.state === 'restarting' && <p>Restarting the web tier… (started by {state.by})</p>}
      {state.state === 'done' && (
        <p>
          Last restart by {state.by} finished at {state.finishedAt}; web processes {state.pids.join(', ')}
          {state.signedOut !== null && `; ${state.signedOut} sessions were signed out`}.
        </p>
      )}
      {state.state === 'failed' && <p class="error">The last restart failed: {state.error}</p>}
    </div>
  );
}

export function SettingsPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  settings: Settings;
  restart: RestartState;
}) {
  const warning = p.settings.logoutOnRestart
    ? 'Restart Deckhand? Everyone, you included, will be signed out. It takes a few seconds; running jobs are not affected.'
    : 'Restart Deckhand? It takes a few seconds; nobody is signed out and running jobs are not affected.';
  return (
    <Layout title="Settings" user={p.user} csrfToken={p.csrfToken}>
      <form class="card" hx-post="/ui/settings" hx-target="#settings-result">
        <h2>Sessions</h2>
        <label>
          <input type="checkbox" name="logoutOnRestart" value="true" checked={p.settings.logoutOnRestart} /> Sign
          everyone out when Deckhand is restarted (a certificate reload never signs anyone out)
        </label>
        <div id="settings-result" />
        <button type="submit">Save</button>
      </form>
      <section class="card" id="restart-card">
        <h2>Restart Deckhand</h2>
        <p>
          A rolling restart of the web tier: new processes start before the old ones stop, so no request is dropped.
          {p.settings.logoutOnRestart ? ' Users will be signed out.' : ''}
        </p>
        <button
          type="button"
          class="danger"
          hx-post="/api/system/restart"
          {...confirmAttrs({ message: warning, action: 'Restart Deckhand', danger: true, typed: 'restart' })}
          hx-target="#restart-status"
          hx-swap="outerHTML"
        >
          Restart Deckhand
        </button>
        <RestartStatus state={p.restart} />
      </section>
    </Layout>
  );
}
