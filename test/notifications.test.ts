import { execFile } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertChannel } from '../db/notifications.ts';
import { kindEnv } from '../jobs/lib/kind.ts';
import { sealChannel } from '../jobs/lib/notify-channels.ts';
import { api, eventually, type Harness, harness, type TestUser, waitForStatus } from './support/app.ts';
import { type HttpReceiver, httpReceiver, smtpSink } from './support/receivers.ts';

/**
 * Notifications end to end, against a real HTTP receiver and a real SMTP server: a failed job
 * reaches a signed webhook, a Slack-style webhook and a mailbox; a receiver that is down for a
 * while still gets it; rules filter by kind and target; and no channel secret leaks anywhere.
 */

const SMTP_USER = 'deckhand';
const SMTP_PASS = 'smtp-Pa55-word-never-shown';

let h: Harness;
let admin: TestUser;
let operator: TestUser;
let viewer: TestUser;
let hooks: HttpReceiver;
let sink: Awaited<ReturnType<typeof smtpSink>>;
const secrets: string[] = [SMTP_PASS];

beforeAll(async () => {
  [hooks, sink] = await Promise.all([httpReceiver(), smtpSink(SMTP_USER, SMTP_PASS)]);
  h = await harness({
    env: {
      DECKHAND_SMTP_URL: `smtp://${SMTP_USER}:${SMTP_PASS}@127.0.0.1:${sink.port}`,
      DECKHAND_SMTP_FROM: 'deckhand@example.test',
      // The default (1 s, doubling over 8 attempts) waits 127 s in all; the test need not wait that long.
      DECKHAND_NOTIFY_BACKOFF_MS: '300',
    },
  });
  [admin, operator, viewer] = await Promise.all([h.user('admin'), h.user('operator'), h.user('viewer')]);
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
  await hooks?.close();
  await sink?.close();
});

async function channel(body: Record<string, unknown>) {
  const r = await api(h, admin, 'POST', '/api/notifications/channels', body);
  expect(r.status, r.text).toBe(201);
  return r.json as { id: string; name: string; endpoint: string | null; signingSecret?: string };
}

async function rule(body: Record<string, unknown>, as = admin) {
  const r = await api(h, as, 'POST', '/api/notifications/rules', body);
  expect(r.status, r.text).toBe(201);
  return r.json as { id: string; owner: string; ownerActive: boolean };
}

async function failedScriptJob(): Promise<string> {
  const r = await api(h, operator, 'POST', '/api/jobs', { kind: 'script', script: 'fail' });
  expect(r.status, r.text).toBe(202);
  await waitForStatus(h, operator, r.json.id, ['failed']);
  // The worker's processor returns only after it has recorded the job's notifications.
  await eventually(
    async () => (await h.producer.state(r.json.id)) === 'completed',
    15_000,
    'the job to leave the worker',
  );
  return r.json.id as string;
}

const notifyJobs = async (about: string) =>
  (
    await h.database.db.execute(
      sql`SELECT id, status, params FROM jobs WHERE kind = 'notify' AND params->'facts'->>'job' = ${about} ORDER BY num`,
    )
  ).rows as { id: string; status: string; params: { rule: string; channel: string } }[];

const allSettled = async (about: string) => {
  const jobs = await notifyJobs(about);
  const states = await Promise.all(jobs.map((j) => h.producer.state(j.id)));
  return jobs.length > 0 && states.every((s) => s === 'completed' || s === 'failed') ? jobs : null;
};

function verifySignature(header: string, body: string, secret: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

describe('a failed job reaches every channel its rules name', () => {
  it('signs the webhook, posts Slack text and mails the recipients, once each, without any secret', async () => {
    const webhook = await channel({
      type: 'webhook',
      name: 'ops-hook',
      url: `http://127.0.0.1:${hooks.port}/hook/tok-9f8e7d6c5b4a`,
    });
    const slack = await channel({
      type: 'slack',
      name: 'ops-slack',
      url: `http://127.0.0.1:${hooks.port}/services/T0/B0/slackSECRETxyz`,
    });
    await channel({ type: 'email', name: 'ops-mail', to: ['oncall@example.test'] });
    expect(webhook.signingSecret).toMatch(/^whsec_/);
    expect(slack.signingSecret).toBeUndefined();
    expect(webhook.endpoint).toBe(`http://127.0.0.1:${hooks.port}/…`);
    secrets.push('tok-9f8e7d6c5b4a', 'slackSECRETxyz', webhook.signingSecret!);

    await rule({ name: 'scripts-to-hook', channel: 'ops-hook', events: ['job.failed'], kinds: ['script'] });
    // Every kind, failures and successes: were a delivery to notify about itself, this would loop.
    await rule({ name: 'all-to-slack', channel: 'ops-slack', events: ['job.failed', 'job.succeeded'] });
    await rule({ name: 'failures-by-mail', channel: 'ops-mail', events: ['job.failed'] });

    const failed = await failedScriptJob();
    const deliveries = await eventually(() => allSettled(failed), 20_000, 'the deliveries to settle');
    expect(deliveries.map((d) => d.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // The three successful deliveries notified nobody (all-to-slack also fires on job.succeeded).
    const total = await h.database.db.execute(sql`SELECT count(*)::int AS n FROM jobs WHERE kind = 'notify'`);
    expect(total.rows[0]!.n).toBe(3);

    const signed = hooks.requests.filter((r) => r.path.startsWith('/hook/'));
    expect(signed).toHaveLength(1);
    const sig = String(signed[0]!.headers['x-deckhand-signature']);
    expect(verifySignature(sig, signed[0]!.body, webhook.signingSecret!)).toBe(true);
    expect(verifySignature(sig, `${signed[0]!.body} `, webhook.signingSecret!)).toBe(false);
    const payload = JSON.parse(signed[0]!.body);
    expect(payload).toMatchObject({ event: 'job.failed', job: failed, kind: 'script', summary: 'Script fail: failed' });
    expect(payload.detail).toMatch(/exited with code 3/);

    const slackPosts = hooks.requests.filter((r) => r.path.startsWith('/services/'));
    expect(slackPosts).toHaveLength(1);
    const slackBody = JSON.parse(slackPosts[0]!.body);
    expect(Object.keys(slackBody)).toEqual(['text']);
    expect(slackBody.text).toContain('Script fail: failed');

    expect(sink.mails).toHaveLength(1);
    const mail = sink.mails[0]!;
    expect(mail.to).toEqual(['oncall@example.test']);
    expect(mail.from).toBe('deckhand@example.test');
    expect(mail.raw).toMatch(/Subject: \[Deckhand\] Script fail: failed/);
    expect(mail.raw).toContain(failed);
    for (const s of secrets) expect(mail.raw).not.toContain(s);

    const recorded = await api(h, admin, 'GET', '/api/notifications/deliveries');
    expect(recorded.json.items.filter((d: { ok: boolean; status: number }) => d.ok)).toHaveLength(3);
    expect(recorded.json.items.map((d: { channel: string; status: number }) => [d.channel, d.status]).sort()).toEqual([
      ['ops-hook', 200],
      ['ops-mail', 250],
      ['ops-slack', 200],
    ]);
  });
});

describe('a receiver that is down', () => {
  it('is retried with backoff until it is up, and then gets the notification', async () => {
    const late = await httpReceiver({ listening: false });
    try {
      await channel({ type: 'webhook', name: 'late-hook', url: `http://127.0.0.1:${late.port}/late` });
      await rule({ name: 'late-rule', channel: 'late-hook', events: ['job.failed'], kinds: ['script'] });
      const failed = await failedScriptJob();
      const [delivery] = await eventually(
        async () => {
          const jobs = (await notifyJobs(failed)).filter((j) => j.params.channel !== undefined);
          const rows = await h.database.db.execute(
            sql`SELECT d.job_id FROM notification_deliveries d JOIN notification_channels c ON c.id = d.channel_id
              WHERE c.name = 'late-hook' AND NOT d.ok`,
          );
          return rows.rows.length >= 2 ? jobs.filter((j) => rows.rows.some((r) => r.job_id === j.id)) : null;
        },
        20_000,
        'two refused attempts',
      );
      expect(late.requests).toHaveLength(0);
      await late.listen();
      await waitForStatus(h, admin, delivery!.id, ['succeeded'], 30_000);
      expect(late.requests).toHaveLength(1);
      const attempts = (
        await h.database.db.execute(
          sql`SELECT ok, status FROM notification_deliveries WHERE job_id = ${delivery!.id} ORDER BY id`,
        )
      ).rows as { ok: boolean; status: number | null }[];
      expect(attempts.length).toBeGreaterThanOrEqual(3);
      expect(attempts.at(-1)).toEqual({ ok: true, status: 200 });
      expect(attempts.slice(0, -1).every((a) => !a.ok && a.status === null)).toBe(true);
    } finally {
      await late.close();
    }
  });
});

describe('a URL that points at a metadata address when it is used', () => {
  it('is refused by the delivery without retrying, although it got past the save check', async () => {
    // As if saved before the check existed, or by hand in the database: the worker checks again.
    const { settings, sealed } = sealChannel(kindEnv(h.config, h.database.db).secrets, {
      type: 'webhook',
      name: 'metadata',
      url: 'http://169.254.169.254/latest/meta-data/',
    });
    const row = await insertChannel(h.database.db, {
      name: 'metadata',
      type: 'webhook',
      settings,
      sealed,
      createdBy: admin.id,
    });
    const sent = await api(h, admin, 'POST', `/api/notifications/channels/${row!.id}/test`);
    expect(sent.status, sent.text).toBe(202);
    const job = await waitForStatus(h, admin, sent.json.id, ['failed', 'succeeded']);
    expect(job.status).toBe('failed');
    expect(job.attempt).toBe(1);
    expect(job.error).toMatch(/refusing to connect to 169\.254\.169\.254: .*link-local or cloud metadata/);
  });
});

describe('a paused rule', () => {
  it('sends nothing until it is resumed', async () => {
    await channel({ type: 'webhook', name: 'pausable', url: `http://127.0.0.1:${hooks.port}/pausable` });
    const paused = await rule({ name: 'pausable', channel: 'pausable', events: ['job.failed'], kinds: ['script'] });
    const patched = await api(h, admin, 'PATCH', `/api/notifications/rules/${paused.id}`, { enabled: false });
    expect(patched.json).toMatchObject({ enabled: false, channel: 'pausable' });
    const quiet = await failedScriptJob();
    expect((await notifyJobs(quiet)).map((j) => j.params.rule)).not.toContain(paused.id);
    await api(h, admin, 'PATCH', `/api/notifications/rules/${paused.id}`, { enabled: true });
    const loud = await failedScriptJob();
    expect((await notifyJobs(loud)).map((j) => j.params.rule)).toContain(paused.id);
  });
});

describe('a rule whose owner is disabled or demoted', () => {
  it('fires no more, and the rules list says why; it fires again once the owner is an enabled admin', async () => {
    const owner = await h.user('admin');
    await channel({ type: 'webhook', name: 'owned', url: `http://127.0.0.1:${hooks.port}/owned` });
    const made = await rule({ name: 'owned', channel: 'owned', events: ['job.failed'], kinds: ['script'] }, owner);
    expect(made).toMatchObject({ owner: owner.username, ownerActive: true });
    const rulesFired = async () => (await notifyJobs(await failedScriptJob())).map((j) => j.params.rule);
    const listed = async () =>
      (await api(h, admin, 'GET', '/api/notifications/rules')).json.items.find((r: { id: string }) => r.id === made.id);
    const setOwner = async (change: Record<string, unknown>) =>
      expect((await api(h, admin, 'PATCH', `/api/users/${owner.username}`, change)).status).toBe(200);

    expect(await rulesFired()).toContain(made.id);
    await setOwner({ disabled: true });
    expect(await rulesFired()).not.toContain(made.id);
    expect(await listed()).toMatchObject({ enabled: true, ownerActive: false });
    const page = await h.app.request('/notifications', { headers: { cookie: admin.cookie } });
    const row = (await page.text()).split('<tr data-rule="owned">')[1]?.split('</tr>')[0] ?? '';
    expect(row).toContain(`data-firing="false">off: ${owner.username} is disabled or no longer an admin`);

    await setOwner({ disabled: false, role: 'operator' });
    expect(await rulesFired()).not.toContain(made.id);
    await setOwner({ role: 'admin' });
    expect(await rulesFired()).toContain(made.id);
    expect(await listed()).toMatchObject({ ownerActive: true });
  });
});

describe('rules filter by target and kind', () => {
  it('fires only the rules whose kinds and targets match', async () => {
    await h.database.db.execute(
      sql`INSERT INTO targets (name, spec) VALUES ('web', ${JSON.stringify({ manager: 'systemd', unit: 'web.service' })}::jsonb)`,
    );
    await channel({ type: 'webhook', name: 'filtered', url: `http://127.0.0.1:${hooks.port}/filtered` });
    const onlyRestarts = await rule({
      name: 'restarts',
      channel: 'filtered',
      events: ['job.failed'],
      kinds: ['restart'],
    });
    const onlyWeb = await rule({ name: 'web-only', channel: 'filtered', events: ['job.failed'], targets: ['web'] });
    const successes = await rule({
      name: 'successes',
      channel: 'filtered',
      events: ['job.succeeded'],
      kinds: ['script'],
    });
    const failed = await failedScriptJob();
    const fired = (await notifyJobs(failed)).map((j) => j.params.rule);
    expect(fired.length).toBeGreaterThan(0); // the earlier tests' script rules
    for (const r of [onlyRestarts, onlyWeb, successes]) expect(fired).not.toContain(r.id);
  });
});

describe('the API', () => {
  it('refuses bad channel and rule bodies with 400 naming the problem', async () => {
    const bad = [
      { type: 'webhook', name: 'x', url: 'http://127.0.0.1/x', extra: 1 },
      { type: 'webhook', name: 'x', url: 'ftp://example.test/x' },
      { type: 'webhook', name: 'x', url: 'http://169.254.169.254/latest/meta-data' },
      { type: 'slack', name: 'x', url: 'http://metadata.google.internal/x' },
      { type: 'pager', name: 'x', url: 'http://127.0.0.1/x' },
      { type: 'email', name: 'x', to: ['not an address'] },
      { type: 'email', name: 'Bad Name', to: ['a@example.test'] },
    ];
    for (const body of bad) {
      const r = await api(h, admin, 'POST', '/api/notifications/channels', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.code).toBe('invalid_request');
    }
    expect((await api(h, admin, 'POST', '/api/notifications/channels', '{nope')).status).toBe(400);
    const badRules = [
      { name: 'r', channel: 'ops-hook', events: ['job.exploded'] },
      { name: 'r', channel: 'ops-hook', events: [] },
      { name: 'r', channel: 'ops-hook', events: ['job.failed'], colour: 'red' },
      { name: 'r', channel: 'no-such-channel', events: ['job.failed'] },
      { name: 'r', channel: 'ops-hook', events: ['job.failed'], kinds: ['notify'] },
      { name: 'r', channel: 'ops-hook', events: ['job.failed'], targets: ['nowhere'] },
      { name: 'r', channel: 'ops-hook', events: ['cert.expiring'], certDays: 0 },
    ];
    for (const body of badRules) {
      const r = await api(h, admin, 'POST', '/api/notifications/rules', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    const unknownField = await api(h, admin, 'POST', '/api/notifications/rules', badRules[2]);
    expect(JSON.stringify(unknownField.json.error.details)).toContain('colour');
  });

  it('is for admins only: viewers and operators get 403', async () => {
    const hook = (await api(h, admin, 'GET', '/api/notifications/channels')).json.items.find(
      (ch: { name: string }) => ch.name === 'ops-hook',
    );
    for (const user of [viewer, operator]) {
      for (const [method, path, body] of [
        ['GET', '/api/notifications/channels'],
        ['POST', '/api/notifications/channels', { type: 'email', name: 'y', to: ['a@example.test'] }],
        ['GET', '/api/notifications/rules'],
        ['POST', '/api/notifications/rules', { name: 'y', channel: 'ops-hook', events: ['job.failed'] }],
        ['GET', '/api/notifications/deliveries'],
      ] as const) {
        expect((await api(h, user, method, path, body)).status, `${user.username} ${method} ${path}`).toBe(403);
      }
      const r = await api(h, user, 'POST', '/api/jobs', {
        kind: 'notify',
        channel: hook.id,
        event: 'test',
        facts: { summary: 'spam' },
      });
      expect(r.status).toBe(403);
      const page = await h.app.request('/notifications', { headers: { Cookie: user.cookie } });
      expect(page.status).toBe(403);
    }
  });

  it('never shows a channel secret: not in answers, audit rows, job params or output, nor anywhere in the database', async () => {
    const answers = [
      await api(h, admin, 'GET', '/api/notifications/channels'),
      await api(h, admin, 'GET', '/api/notifications/rules'),
      await api(h, admin, 'GET', '/api/notifications/deliveries'),
      await api(h, admin, 'GET', '/api/jobs?kind=notify&limit=100'),
      await api(h, admin, 'GET', '/audit.csv'),
    ];
    const page = await h.app.request('/notifications', { headers: { Cookie: admin.cookie } });
    expect(page.status).toBe(200);
    const texts = [...answers.map((a) => a.text), await page.text()];
    const rows = await h.database.db.execute(
      sql`SELECT (SELECT json_agg(a) FROM audit_log a)::text AS audit, (SELECT json_agg(j) FROM jobs j)::text AS jobs,
                 (SELECT json_agg(e) FROM job_events e)::text AS events,
                 (SELECT json_agg(d) FROM notification_deliveries d)::text AS deliveries,
                 (SELECT json_agg(c.settings) FROM notification_channels c)::text AS settings`,
    );
    const dump = await promisify(execFile)('pg_dump', ['--data-only', h.database.url], { maxBuffer: 64 << 20 });
    expect(dump.stdout).toContain('ops-hook'); // the dump is the real thing
    for (const s of secrets) {
      for (const t of texts) expect(t).not.toContain(s);
      expect(JSON.stringify(rows.rows)).not.toContain(s);
      expect(dump.stdout).not.toContain(s);
    }
    expect(JSON.stringify(rows.rows)).toContain('notification.channel.create');
  });
});
