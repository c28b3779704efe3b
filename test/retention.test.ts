import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { pruneHistory } from '../db/prune.ts';
import { claimPruneRun } from '../db/prune-runs.ts';
import { startPruner } from '../worker/pruner.ts';
import { api, eventually, type Harness, harness, sleep, type TestUser } from './support/app.ts';

let h: Harness;
let admin: TestUser;
let operator: TestUser;
const policy = { outputDays: 30, jobDays: 365, auditDays: 1095 };
const floor = { auditFloorDays: 1095 };

beforeAll(async () => {
  h = await harness();
  admin = await h.user('admin');
  operator = await h.user('operator');
});
afterAll(() => h.close());

const q = async (text: string, values: unknown[] = []) => (await h.database.db.$client.query(text, values)).rows;

beforeEach(async () => {
  await q(`DELETE FROM jobs`);
  await q(`DELETE FROM audit_log`);
  await q(`DELETE FROM settings WHERE key = 'pruneRun'`);
});

/**
 * An ended job of `ageDays` with six events: queued, active, a progress step, two output chunks
 * and its end, as a worker writes them.
 */
async function oldJob(ageDays: number, o: { kind?: string; target?: string; pinned?: boolean } = {}) {
  const [row] = await q(
    `INSERT INTO jobs (kind, target, script, status, max_attempts, requested_by, created_at, started_at, finished_at, last_seq, pinned)
     VALUES ($1, $2, $3, 'succeeded', 1, $4, now() - $5 * interval '1 day', now() - $5 * interval '1 day',
             now() - $5 * interval '1 day', 6, $6) RETURNING id`,
    [o.kind ?? 'script', o.target ?? null, o.kind ? null : 'steps', operator.id, ageDays, o.pinned ?? false],
  );
  const id = String(row!.id);
  await q(
    `INSERT INTO job_events (job_id, seq, at, type, data) VALUES
       ($1, 1, now(), 'status', '{"status":"queued"}'), ($1, 2, now(), 'status', '{"status":"active"}'),
       ($1, 3, now(), 'progress', '{"progress":50,"step":"half way"}'),
       ($1, 4, now(), 'output', '{"stream":"stdout","text":"hello\\n"}'),
       ($1, 5, now(), 'output', '{"stream":"stdout","text":"world\\n"}'),
       ($1, 6, now(), 'status', '{"status":"succeeded"}')`,
    [id],
  );
  return id;
}

const seqs = async (id: string) =>
  (await q(`SELECT seq FROM job_events WHERE job_id = $1 ORDER BY seq`, [id])).map((r) => r.seq);
const auditAt = (ageDays: number, action = 'job.enqueue') =>
  q(`INSERT INTO audit_log (at, actor, action) VALUES (now() - $1 * interval '1 day', 'ops', $2)`, [ageDays, action]);
const auditAges = async () =>
  (await q(`SELECT round(extract(epoch FROM now() - at) / 86400) AS d FROM audit_log ORDER BY at`)).map((r) =>
    Number(r.d),
  );

async function deploy(ageDays: number, target: string, releaseRemoved = false) {
  const id = await oldJob(ageDays, { kind: 'deploy', target });
  await q(
    `INSERT INTO deployments (job_id, target, release, phase, pruned, created_at)
     VALUES ($1, $2, $3, 'live', $5, now() - $4 * interval '1 day')`,
    [id, target, `r${ageDays}`, ageDays, releaseRemoved],
  );
  return id;
}

describe('pruning (db/prune.ts)', () => {
  it('deletes only what is past each retention, in batches, and keeps the status events of the jobs that remain', async () => {
    const fresh = await oldJob(10);
    const month = await Promise.all([40, 41, 42].map((d) => oldJob(d)));
    const year = await Promise.all([400, 401].map((d) => oldJob(d)));
    for (const d of [100, 1000, 1094, 1100, 1200]) await auditAt(d);

    const counts = await pruneHistory(h.database.db, policy, { ...floor, batch: 2 });

    expect(await seqs(fresh)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const id of month) expect(await seqs(id)).toEqual([1, 2, 6]);
    const marked = await q(`SELECT id FROM jobs WHERE output_pruned_at IS NOT NULL`);
    expect(marked.map((r) => r.id).sort()).toEqual([...month].sort());
    expect(await q(`SELECT id FROM jobs WHERE id = ANY($1)`, [year])).toEqual([]);
    expect(await q(`SELECT 1 FROM job_events WHERE job_id = ANY($1)`, [year])).toEqual([]);
    expect(await auditAges()).toEqual([1094, 1000, 100]);
    expect(counts).toMatchObject({ outputJobs: 3, outputEvents: 9, jobs: 2, jobEvents: 12, auditRows: 2 });
    // Two rows per statement at most: 9 output events alone need 5 deletes.
    expect(counts.batches).toBeGreaterThan(10);

    // A second pass finds nothing more.
    expect(await pruneHistory(h.database.db, policy, floor)).toMatchObject({ outputEvents: 0, jobs: 0, auditRows: 0 });
  });

  it('keeps the output of pinned jobs and of the live deploy of each target, and pinned jobs whole', async () => {
    const pinned = await oldJob(40, { pinned: true });
    const pinnedOld = await oldJob(500, { pinned: true });
    const superseded = await deploy(60, 'shop');
    const live = await deploy(45, 'shop');
    const liveOld = await deploy(700, 'blog');
    // A release still on disk can be rolled back to: its job stays (without output); a removed one goes.
    const rollbackable = await deploy(800, 'blog');
    const removed = await deploy(900, 'blog', true);

    await pruneHistory(h.database.db, policy, floor);

    expect(await seqs(pinned)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await seqs(pinnedOld)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await seqs(live)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await seqs(liveOld)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await seqs(superseded)).toEqual([1, 2, 6]);
    expect(await seqs(rollbackable)).toEqual([1, 2, 6]);
    expect(await q(`SELECT release FROM deployments WHERE job_id = $1`, [rollbackable])).toEqual([{ release: 'r800' }]);
    expect(await q(`SELECT 1 FROM jobs WHERE id = $1`, [removed])).toEqual([]);
  });

  it('never prunes audit rows younger than the floor, whatever the policy says', async () => {
    for (const d of [5, 20, 400, 1000]) await auditAt(d);
    await pruneHistory(h.database.db, { ...policy, auditDays: 10 }, floor);
    expect(await auditAges()).toEqual([1000, 400, 20, 5]);
    // Only a lower floor (DECKHAND_AUDIT_RETENTION_MIN_DAYS) lets a short policy apply.
    await pruneHistory(h.database.db, { ...policy, auditDays: 10 }, { auditFloorDays: 10 });
    expect(await auditAges()).toEqual([5]);
  });

  it('leaves the pages of pruned jobs working and saying that their output was pruned', async () => {
    const id = await oldJob(40);
    const gone = await oldJob(400);
    await pruneHistory(h.database.db, policy, floor);

    const job = await api(h, admin, 'GET', `/api/jobs/${id}`);
    expect(job.status).toBe(200);
    expect(job.json.outputPrunedAt).toEqual(expect.any(String));
    const events = await api(h, admin, 'GET', `/api/jobs/${id}/events`);
    expect(events.json.items.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 6]);
    expect((await api(h, admin, 'GET', `/api/jobs/${id}/output`)).json).toEqual({ chunks: [], done: true });
    const page = await h.app.request(`/jobs/${id}`, { headers: { Cookie: admin.cookie, Accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('id="output-pruned"');
    for (const path of [`/fragments/jobs/${id}/row`, `/fragments/jobs/${id}/live?after=0`]) {
      expect((await h.app.request(path, { headers: { Cookie: admin.cookie } })).status, path).toBe(200);
    }
    const list = await api(h, admin, 'GET', '/api/jobs');
    expect(list.json.items.map((j: { id: string }) => j.id)).toEqual([id]);
    expect((await api(h, admin, 'GET', `/api/jobs/${gone}`)).status).toBe(404);
  });
});

/** A browser-style write: session cookie, same-origin metadata, optional CSRF header. */
function browserPost(user: TestUser, path: string, body: string, csrf: string | null, type = 'application/json') {
  const headers: Record<string, string> = {
    Cookie: user.cookie,
    'Content-Type': type,
    Origin: 'http://localhost',
    'Sec-Fetch-Site': 'same-origin',
    ...(csrf ? { 'X-CSRF-Token': csrf } : {}),
  };
  return h.app.request(`http://localhost${path}`, { method: 'POST', body, headers });
}

describe('retention settings', () => {
  it('are validated (400 naming the field) and audited, and shown to admins', async () => {
    const put = (body: unknown) => api(h, admin, 'PUT', '/api/settings', body);
    for (const bad of [
      { retentionOutputDays: 0 },
      { retentionOutputDays: 'x' },
      { retentionJobDays: 1.5 },
      { retentionOutputDays: 400 },
      { retentionAuditDays: 1000 },
      { retentionDays: 3 },
    ]) {
      const res = await put(bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(JSON.stringify(res.json.error.details), JSON.stringify(bad)).toContain(Object.keys(bad)[0]);
    }
    expect(await q(`SELECT 1 FROM audit_log WHERE action = 'settings.update'`)).toEqual([]);

    const ok = await put({ retentionOutputDays: 14, retentionAuditDays: 2000 });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ retentionOutputDays: 14, retentionJobDays: 365, retentionAuditDays: 2000 });
    const [row] = await q(`SELECT actor, details FROM audit_log WHERE action = 'settings.update'`);
    expect(row).toEqual({ actor: admin.username, details: { retentionOutputDays: 14, retentionAuditDays: 2000 } });
    expect((await api(h, operator, 'PUT', '/api/settings', { retentionOutputDays: 7 })).status).toBe(403);

    const page = await h.app.request('/settings', { headers: { Cookie: admin.cookie, Accept: 'text/html' } });
    const html = await page.text();
    expect(html).toContain('name="retentionOutputDays" value="14"');
    expect(html).toContain('name="retentionAuditDays" value="2000" min="1095"');

    const form = (o: number) => `retentionOutputDays=${o}&retentionJobDays=365&retentionAuditDays=1095`;
    const type = 'application/x-www-form-urlencoded';
    const badForm = await browserPost(admin, '/ui/settings/retention', form(0), admin.csrfToken, type);
    expect(badForm.status).toBe(400);
    expect((await browserPost(admin, '/ui/settings/retention', form(20), null, type)).status).toBe(403);
    expect((await browserPost(admin, '/ui/settings/retention', form(20), admin.csrfToken, type)).status).toBe(200);
    expect((await api(h, admin, 'GET', '/api/settings')).json.retentionOutputDays).toBe(20);
    await put({ retentionOutputDays: 30, retentionAuditDays: 1095 });
  });

  it('allow a shorter audit retention only on a host that lowered the floor', async () => {
    const lowered = await harness({ env: { DECKHAND_AUDIT_RETENTION_MIN_DAYS: '90' } });
    try {
      const boss = await lowered.user('admin');
      expect((await api(lowered, boss, 'PUT', '/api/settings', { retentionAuditDays: 89 })).status).toBe(400);
      const ok = await api(lowered, boss, 'PUT', '/api/settings', { retentionAuditDays: 90 });
      expect(ok.status).toBe(200);
      expect(ok.json.retentionAuditDays).toBe(90);
    } finally {
      await lowered.close();
    }
  });
});

describe('pinning a job', () => {
  it('is for admins, needs the CSRF token in a browser, is audited and keeps the job', async () => {
    const id = await oldJob(40);
    expect((await api(h, operator, 'POST', `/api/jobs/${id}/pin`)).status).toBe(403);
    expect((await browserPost(admin, `/api/jobs/${id}/pin`, '{}', null)).status).toBe(403);
    expect((await browserPost(admin, `/api/jobs/${id}/pin`, '{}', admin.csrfToken)).status).toBe(200);
    expect((await api(h, admin, 'GET', `/api/jobs/${id}`)).json.pinned).toBe(true);
    expect((await api(h, admin, 'POST', '/api/jobs/00000000-0000-4000-8000-000000000000/pin')).status).toBe(404);

    await pruneHistory(h.database.db, policy, floor);
    expect(await seqs(id)).toEqual([1, 2, 3, 4, 5, 6]);

    const unpin = await api(h, admin, 'POST', `/api/jobs/${id}/unpin`);
    expect(unpin.json).toMatchObject({ id, pinned: false });
    await pruneHistory(h.database.db, policy, floor);
    expect(await seqs(id)).toEqual([1, 2, 6]);
    const rows = await q(`SELECT actor, action, subject FROM audit_log WHERE action LIKE 'job.%pin' ORDER BY id`);
    expect(rows).toEqual([
      { actor: admin.username, action: 'job.pin', subject: id },
      { actor: admin.username, action: 'job.unpin', subject: id },
    ]);
  });
});

describe('the pruning schedule', () => {
  it('gives each period to exactly one of many claimants', async () => {
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) => claimPruneRun(h.database.db, `w${i}`, 60_000)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await claimPruneRun(h.database.db, 'late', 60_000)).toBe(false);
  });

  it('runs once per period across several workers, each on its own connections, and audits one summary', async () => {
    await oldJob(40);
    const log = createLogger('silent', 'test');
    const pools = Array.from({ length: 3 }, () => connectDatabase(h.database.url, 3));
    const pruners = pools.map((p, i) =>
      startPruner(p.db, log, { worker: `w${i}`, everyMs: 60_000, checkMs: 20, auditFloorDays: 1095 }),
    );
    try {
      await eventually(
        async () => (await q(`SELECT 1 FROM audit_log WHERE action = 'history.prune'`)).length > 0,
        5000,
        'a pruning run',
      );
      await sleep(300); // many more checks by all three workers
      const rows = await q(`SELECT actor, details FROM audit_log WHERE action = 'history.prune'`);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ actor: 'system', details: { outputJobs: 1, outputEvents: 3, jobs: 0 } });
      const [run] = await q(`SELECT value FROM settings WHERE key = 'pruneRun'`);
      expect(run!.value).toMatchObject({ finishedAt: expect.any(String), counts: { outputJobs: 1 } });
    } finally {
      await Promise.all(pruners.map((p) => p.stop()));
      await Promise.all(pools.map((p) => p.close()));
    }
  });
});
