import { Hono } from 'hono';
import { z } from 'zod';
import { audit } from '../../db/audit.ts';
import { readPruneRun } from '../../db/prune-runs.ts';
import { readRestartState, readSettings, type Settings, writeSettings } from '../../db/settings.ts';
import { RestartStatus, SettingsPage } from '../../views/settings.tsx';
import type { AppEnv } from '../context.ts';
import { pageOf } from '../context.ts';
import { HttpError, parseOr400 } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import { apiDoc } from '../openapi/describe.ts';
import { checkRetention, retentionDays, retentionForm } from '../retention-settings.ts';

const settingsBody = z
  .object({
    logoutOnRestart: z.boolean(),
    retentionOutputDays: retentionDays,
    retentionJobDays: retentionDays,
    retentionAuditDays: retentionDays,
  })
  .partial()
  .strict();

/** Checks a patch against the settings it would make, then audits and stores it. */
async function applySettings(c: { var: AppEnv['Variables'] }, patch: Partial<Settings>): Promise<Settings> {
  const { db, config } = c.var.deps;
  checkRetention({ ...(await readSettings(db)), ...patch }, config.DECKHAND_AUDIT_RETENTION_MIN_DAYS);
  const user = c.var.user!;
  await audit(db, { id: user.id, name: user.username }, 'settings.update', null, patch);
  return writeSettings(db, patch);
}

const tag = 'settings';

export const settingsRoutes = new Hono<AppEnv>()
  .get('/settings', requireRole('admin'), async (c) => {
    const { db } = c.var.deps;
    const [settings, restart, pruneRun] = await Promise.all([readSettings(db), readRestartState(db), readPruneRun(db)]);
    return c.html(
      <SettingsPage
        {...pageOf(c)}
        settings={settings}
        restart={restart}
        pruneRun={pruneRun}
        auditFloorDays={c.var.deps.config.DECKHAND_AUDIT_RETENTION_MIN_DAYS}
      />,
    );
  })
  .get(
    '/api/settings',
    apiDoc({
      tag,
      summary: 'The settings',
      role: 'admin',
      ok: {
        status: 200,
        description: '`{logoutOnRestart, retentionOutputDays, retentionJobDays, retentionAuditDays}`',
      },
    }),
    requireRole('admin'),
    async (c) => c.json(await readSettings(c.var.deps.db)),
  )
  .put(
    '/api/settings',
    apiDoc({
      tag,
      summary: 'Change settings',
      role: 'admin',
      body: {
        schema: settingsBody,
        examples: { keepSessions: { logoutOnRestart: false }, retention: { retentionOutputDays: 14 } },
      },
      ok: { status: 200, description: 'The settings' },
    }),
    requireRole('admin'),
    async (c) => {
      const patch = parseOr400(settingsBody, await c.req.json().catch(() => null), 'settings');
      return c.json(await applySettings(c, patch));
    },
  )
  .post('/ui/settings', requireRole('admin'), async (c) => {
    const form = await c.req.parseBody();
    await applySettings(c, { logoutOnRestart: form.logoutOnRestart === 'true' });
    return c.html(<p>Saved.</p>);
  })
  .post('/ui/settings/retention', requireRole('admin'), async (c) => {
    await applySettings(c, parseOr400(retentionForm, await c.req.parseBody(), 'retention settings'));
    return c.html(<p>Saved.</p>);
  })
  .get(
    '/api/system/restart',
    apiDoc({
      tag,
      summary: 'The state of the last restart of the web tier',
      role: 'admin',
      ok: { status: 200, description: '`{state, by, startedAt, finishedAt, signedOut, pids, error}`' },
    }),
    requireRole('admin'),
    async (c) => c.json(await readRestartState(c.var.deps.db)),
  )
  .post(
    '/api/system/restart',
    apiDoc({
      tag,
      summary: 'Restart the web tier (rolling)',
      description: 'Signs everyone out when logoutOnRestart is on.',
      role: 'admin',
      ok: { status: 202, description: 'Restarting' },
    }),
    requireRole('admin'),
    async (c) => {
      const { control, db } = c.var.deps;
      if (!control)
        throw new HttpError(503, 'unsupported', 'this process is not running under the web tier supervisor');
      const user = c.var.user!;
      await audit(db, { id: user.id, name: user.username }, 'deckhand.restart', null, {
        logoutOnRestart: (await readSettings(db)).logoutOnRestart,
      });
      await control.requestRestart(user.username);
      const state = {
        state: 'restarting' as const,
        by: user.username,
        startedAt: new Date().toISOString(),
        finishedAt: null,
        signedOut: null,
        pids: [],
        error: null,
      };
      if (c.req.header('HX-Request')) return c.html(<RestartStatus state={state} />, 202);
      return c.json(state, 202);
    },
  )
  .get('/fragments/system/restart', requireRole('admin'), async (c) => {
    const since = c.req.query('since') ?? '';
    const state = await readRestartState(c.var.deps.db);
    // Until the supervisor records this restart, the one on record is an older one.
    if (!state.startedAt || state.startedAt < since) {
      return c.html(<RestartStatus state={{ ...state, state: 'restarting', startedAt: since }} />);
    }
    if (state.state === 'done')
      c.header('HX-Redirect', state.signedOut === null ? '/login' : '/login?reason=restarted');
    return c.html(<RestartStatus state={state} />);
  });
