import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../config.ts';
import { insertQueuedJob } from '../db/jobs.ts';
import { createLeaseReaper } from '../jobs/lib/lease-reaper.ts';
import { createNotifier, type Notifier } from '../jobs/lib/notifier.ts';
import { api, eventually, type Harness, harness, type TestUser } from './support/app.ts';

/**
 * The events besides a job's end as the worker sees it: a job the reaper marks lost, a deploy that
 * rolled back, a restart nobody asked for, a certificate under a rule's days; each becomes one
 * notify job per matching rule, once, and never about a notify job. (No worker runs here: the
 * deliveries themselves are tested in notifications.test.ts.)
 */

let h: Harness;
let admin: TestUser;
let notifier: Notifier;
const log = createLogger('silent', 'test');

beforeAll(async () => {
  h = await harness();
  admin = await h.user('admin');
  notifier = createNotifier({ db: h.database.db, producer: h.producer, log, backoffMs: 1000 });
  const hook = await api(h, admin, 'POST', '/api/notifications/channels', {
    type: 'webhook',
    name: 'events',
    url: 'http://127.0.0.1:9/events',
  });
  expect(hook.status, hook.text).toBe(201);
  await h.database.db.execute(
    sql`INSERT INTO targets (name, spec) VALUES ('shop', ${JSON.stringify({ manager: 'systemd', unit: 'shop.service' })}::jsonb),
        ('blog', ${JSON.stringify({ manager: 'systemd', unit: 'blog.service' })}::jsonb)`,
  );
});
afterAll(() => h?.close());

async function rule(body: Record<string, unknown>): Promise<string> {
  const r = await api(h, admin, 'POST', '/api/notifications/rules', { channel: 'events', ...body });
  expect(r.status, r.text).toBe(201);
  return r.json.id;
}

/** A job row as the API records it, then moved to `status` as a worker or the reaper would. */
async function jobRow(kind: string, target: string | null, status: string, extra = sql``): Promise<string> {
  const id = await insertQueuedJob(h.database.db, {
    kind,
    target,
    script: kind === 'script' ? 'fail' : null,
    params: {},
    maxAttempts: 1,
    requestedBy: admin.id,
    actorName: admin.username,
    idempotencyKey: null,
    retryOf: null,
    auditDetails: {},
  });
  await h.database.db.execute(sql`UPDATE jobs SET status = ${status} ${extra} WHERE id = ${id}`);
  return id!;
}

const firedRules = async (): Promise<{ rule: string; event: string; job: string | null; target: string | null }[]> =>
  (
    await h.database.db.execute(
      sql`SELECT params->>'rule' AS rule, params->>'event' AS event, params->'facts'->>'job' AS job,
                 params->'facts'->>'target' AS target
          FROM jobs WHERE kind = 'notify' AND params ? 'rule' ORDER BY num`,
    )
  ).rows as never;

describe('events into notify jobs', () => {
  it('notifies a job the lease reaper marks lost, once, with the rule owner as requester', async () => {
    const lostRule = await rule({ name: 'lost-shop', events: ['job.lost'], targets: ['shop'] });
    const id = await jobRow(
      'restart',
      'shop',
      'active',
      sql`, lease_owner = 'gone:1:x', lease_expires_at = now() - interval '1 minute'`,
    );
    const reap = createLeaseReaper(h.database.db, log, {
      leaseMs: 1000,
      everyMs: 1000,
      onLost: (jobs) => void notifier.jobsEnded(jobs.map((j) => j.id)),
    });
    expect((await reap(Date.now() + 60_000)).map((j) => j.id)).toEqual([id]);
    const fired = await eventually(async () => (await firedRules()).find((f) => f.job === id), 10_000, 'a notify job');
    expect(fired).toEqual({ rule: lostRule, event: 'job.lost', job: id, target: 'shop' });
    await notifier.jobsEnded([id]); // seen again (another reaper, a repeat): still one
    expect((await firedRules()).filter((f) => f.job === id)).toHaveLength(1);
    const [row] = (await h.database.db.execute(sql`SELECT requested_by, target FROM jobs WHERE kind = 'notify'`)).rows;
    expect(row).toEqual({ requested_by: admin.id, target: null }); // no target: no lock
  });

  it('notifies a deploy that rolled back, besides its failure', async () => {
    const rolledRule = await rule({ name: 'rollbacks', events: ['deploy.rolled_back'] });
    const failedRule = await rule({ name: 'deploy-failures', events: ['job.failed'], kinds: ['deploy'] });
    const id = await jobRow('deploy', 'shop', 'failed', sql`, error = 'health check failed'`);
    await h.database.db.execute(
      sql`INSERT INTO deployments (job_id, target, phase, is_rollback) VALUES (${id}, 'shop', 'rolled-back', false)`,
    );
    const plain = await jobRow('deploy', 'shop', 'failed');
    await notifier.jobsEnded([id, plain]);
    const fired = (await firedRules()).filter((f) => f.job === id || f.job === plain);
    expect(fired.map((f) => [f.rule, f.job]).sort()).toEqual(
      [
        [failedRule, id],
        [rolledRule, id],
        [failedRule, plain],
      ].sort(),
    );
  });

  it('never notifies about a notify job, whatever the rules say', async () => {
    await rule({ name: 'everything', events: ['job.failed', 'job.succeeded', 'job.lost'] });
    const before = (await firedRules()).length;
    const id = await jobRow('notify', null, 'failed');
    await notifier.jobsEnded([id]);
    expect((await firedRules()).length).toBe(before);
  });

  it('notifies an unexpected restart per target rule, and a certificate once when under the rule’s days', async () => {
    const restartRule = await rule({
      name: 'restarts-blog',
      events: ['target.restarted'],
      targets: ['blog'],
      kinds: ['deploy'],
    });
    const certRule = await rule({ name: 'certs', events: ['cert.expiring'], certDays: 10 });
    const before = (await firedRules()).length;
    const sample = {
      restarts: [
        { target: 'blog', newPid: 4242, startedAt: '2026-12-04T20:00:00.000Z', detail: 'pid 41 → 4242' },
        { target: 'shop', newPid: 99, startedAt: '2026-12-04T20:00:00.000Z', detail: 'pid 98 → 99' },
      ],
      certs: [
        { target: 'shop', daysLeft: 9, expiresAt: '2026-12-13T12:00:00.000Z' },
        { target: 'blog', daysLeft: 30, expiresAt: '2027-01-03T12:00:00.000Z' },
      ],
    };
    await notifier.targetsSampled(sample);
    await notifier.targetsSampled(sample); // the next sample sees the same: nothing new
    const fired = (await firedRules()).slice(before);
    expect(fired.map((f) => [f.rule, f.event, f.target])).toEqual([
      [restartRule, 'target.restarted', 'blog'],
      [certRule, 'cert.expiring', 'shop'],
    ]);
    // A renewed certificate that nears its end again is a new event.
    await notifier.targetsSampled({
      restarts: [],
      certs: [{ target: 'shop', daysLeft: 5, expiresAt: '2027-03-01T00:00:00.000Z' }],
    });
    expect((await firedRules()).slice(before)).toHaveLength(3);
  });

  it('refuses an email channel while DECKHAND_SMTP_URL is not set, naming it', async () => {
    const r = await api(h, admin, 'POST', '/api/notifications/channels', {
      type: 'email',
      name: 'mail',
      to: ['a@example.test'],
    });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain('DECKHAND_SMTP_URL');
  });
});
