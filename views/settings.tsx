import type { PruneRun } from '../db/prune-runs.ts';
import type { RestartState, Settings } from '../db/settings.ts';
import type { SessionUser } from '../server/auth/sessions.ts';
import { confirmAttrs } from './confirm.tsx';
import { Layout } from './layout.tsx';
import { Time } from './time.tsx';

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

function DaysField(p: { name: string; label: string; value: number; min: number }) {
  return (
    <label>
      {p.label} <input type="number" name={p.name} value={String(p.value)} min={String(p.min)} max="36500" required />{' '}
      days
    </label>
  );
}

const countsSentence = (c: Record<string, number>) =>
  `${c.jobs ?? 0} jobs and the output of ${c.outputJobs ?? 0} more deleted, ${c.auditRows ?? 0} audit rows`;

/** Retention (DESIGN §12): how long each part of the history is kept, and the last pruning run. */
function RetentionCard(p: { settings: Settings; pruneRun: PruneRun | null; auditFloorDays: number }) {
  const run = p.pruneRun;
  return (
    <form class="card" id="retention" hx-post="/ui/settings/retention" hx-target="#retention-result">
      <h2>Retention</h2>
      <p>
        Workers prune older history in small batches. A pinned job, and the live deploy of each target, keep their
        output.
      </p>
      <DaysField
        name="retentionOutputDays"
        label="Job output and progress"
        value={p.settings.retentionOutputDays}
        min={1}
      />
      <DaysField
        name="retentionJobDays"
        label="Jobs and their status history"
        value={p.settings.retentionJobDays}
        min={1}
      />
      <DaysField
        name="retentionAuditDays"
        label="Audit log"
        value={p.settings.retentionAuditDays}
        min={p.auditFloorDays}
      />
      <p class="muted">
        The audit log is kept at least {p.auditFloorDays} days; only DECKHAND_AUDIT_RETENTION_MIN_DAYS on the host
        lowers that.
      </p>
      <p id="last-prune" class="muted">
        {!run && 'No pruning run yet.'}
        {run && !run.finishedAt && (
          <>
            A pruning run started at <Time at={run.startedAt} /> is in progress.
          </>
        )}
        {run?.finishedAt && run.error && <>The last pruning run failed: {run.error}</>}
        {run?.finishedAt && run.counts && (
          <>
            Last pruned <Time at={run.finishedAt} />: {countsSentence(run.counts)}.
          </>
        )}
      </p>
      <div id="retention-result" />
      <button type="submit">Save</button>
    </form>
  );
}

export function SettingsPage(p: {
  user: SessionUser;
  csrfToken: string | null;
  pagePath: string;
  settings: Settings;
  restart: RestartState;
  pruneRun: PruneRun | null;
  auditFloorDays: number;
}) {
  const warning = p.settings.logoutOnRestart
    ? 'Restart Deckhand? Everyone, you included, will be signed out. It takes a few seconds; running jobs are not affected.'
    : 'Restart Deckhand? It takes a few seconds; nobody is signed out and running jobs are not affected.';
  return (
    <Layout title="Settings" user={p.user} csrfToken={p.csrfToken} pagePath={p.pagePath}>
      <form class="card" hx-post="/ui/settings" hx-target="#settings-result">
        <h2>Sessions</h2>
        <label>
          <input type="checkbox" name="logoutOnRestart" value="true" checked={p.settings.logoutOnRestart} /> Sign
          everyone out when Deckhand is restarted (a certificate reload never signs anyone out)
        </label>
        <div id="settings-result" />
        <button type="submit">Save</button>
      </form>
      <RetentionCard settings={p.settings} pruneRun={p.pruneRun} auditFloorDays={p.auditFloorDays} />
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
