import { asc } from 'drizzle-orm';
import { Hono } from 'hono';
import { listRuns, listSchedules, type ScheduleRow } from '../../db/schedules.ts';
import { targets } from '../../db/schema.ts';
import { roleAtLeast } from '../../db/users.ts';
import { listScripts } from '../../jobs/lib/manifest.ts';
import { jobTitle } from '../../views/job-title.ts';
import { SchedulesPage, type ScheduleView } from '../../views/schedules.tsx';
import type { SessionUser } from '../auth/sessions.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { pageOf } from '../context.ts';
import { badRequest } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import {
  createSchedule,
  ownedSchedule,
  pauseSchedule,
  removeSchedule,
  resumeSchedule,
  toApiSchedule,
} from '../schedule-service.ts';
import { parseFormJson } from '../text-guard.ts';

const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

function parseJson(raw: string, field: string): unknown {
  const parsed = parseFormJson(raw, field);
  if (!parsed)
    throw badRequest(`${field} is not valid JSON`, { formErrors: [], fieldErrors: { [field]: ['not valid JSON'] } });
  return parsed.value;
}

/** The job body from the form: the pasted JSON if any, else the fields the chosen kind uses. */
function jobFromForm(f: Record<string, unknown>): unknown {
  const pasted = text(f.jobJson);
  if (pasted) return parseJson(pasted, 'jobJson');
  const kind = text(f.kind) ?? 'script';
  if (kind === 'script') {
    const params = text(f.params);
    return { kind, script: text(f.script), params: params ? parseJson(params, 'params') : {} };
  }
  if (kind === 'restart') return { kind, target: text(f.target), mode: text(f.mode) };
  return { kind, target: text(f.target), ...(text(f.ref) && { ref: text(f.ref) }) };
}

/** A stored job body as the title helper takes it. */
function titleOf(job: Record<string, unknown>): string {
  const { kind, target, script, params, onBusy: _onBusy, ...rest } = job;
  const p = params && typeof params === 'object' ? (params as Record<string, unknown>) : rest;
  return jobTitle({
    kind: String(kind),
    target: typeof target === 'string' ? target : null,
    script: typeof script === 'string' ? script : null,
    params: p,
  });
}

async function scheduleViews(deps: AppDeps, user: SessionUser, rows: ScheduleRow[]): Promise<ScheduleView[]> {
  return Promise.all(
    rows.map(async (s) => {
      const api = toApiSchedule(s, await listRuns(deps.db, s.id, 5), 3);
      return {
        ...api,
        title: titleOf(s.job),
        canChange: roleAtLeast(user.role, 'operator') && (user.role === 'admin' || s.ownerId === user.id),
      };
    }),
  );
}

const refresh = (c: { header(k: string, v: string): void; body(b: null, s: 204): Response }) => {
  c.header('HX-Refresh', 'true');
  return c.body(null, 204);
};

export const schedulePages = new Hono<AppEnv>()
  .get('/schedules', requireRole('viewer'), async (c) => {
    const { deps } = c.var;
    const [rows, scripts, targetRows] = await Promise.all([
      listSchedules(deps.db),
      listScripts(deps.env.scriptsDir).catch(() => []),
      deps.db.select({ name: targets.name }).from(targets).orderBy(asc(targets.name)),
    ]);
    return c.html(
      <SchedulesPage
        {...pageOf(c)}
        schedules={await scheduleViews(deps, c.var.user!, rows)}
        scripts={scripts.map((s) => s.name)}
        targets={targetRows.map((t) => t.name)}
      />,
    );
  })
  .post('/ui/schedules', requireRole('operator'), async (c) => {
    const f = await c.req.parseBody();
    const body = { cron: text(f.cron), tz: text(f.tz) ?? 'UTC', job: jobFromForm(f) };
    await createSchedule(c.var.deps, c.var.user!, body);
    return refresh(c);
  })
  .post('/ui/schedules/:id/:action{pause|resume|delete}', requireRole('operator'), async (c) => {
    const { deps } = c.var;
    const s = await ownedSchedule(deps, c.var.user!, c.req.param('id'));
    const act = { pause: pauseSchedule, resume: resumeSchedule, delete: removeSchedule }[c.req.param('action')];
    await act!(deps, c.var.user!, s);
    return refresh(c);
  });
