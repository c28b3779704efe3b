import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, eventually, type Harness, harness, sleep, type TestUser, waitForStatus } from './support/app.ts';
import { type HttpReceiver, httpReceiver } from './support/receivers.ts';

/**
 * The issue's own case, with the shipped retry policy (no shortened backoff): a webhook receiver that
 * is down for a whole minute still gets the notification once it is back, and exactly once.
 * Slow by nature (about two minutes of real time); test/notifications.test.ts covers the rest quickly.
 */

const DOWN_MS = 60_000;

let h: Harness;
let admin: TestUser;
let operator: TestUser;
let receiver: HttpReceiver;

beforeAll(async () => {
  receiver = await httpReceiver({ listening: false });
  h = await harness();
  [admin, operator] = await Promise.all([h.user('admin'), h.user('operator')]);
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

it('delivers to a webhook receiver that was down for a minute, with the default backoff', async () => {
  const created = await api(h, admin, 'POST', '/api/notifications/channels', {
    type: 'webhook',
    name: 'away',
    url: `http://127.0.0.1:${receiver.port}/hook`,
  });
  expect(created.status, created.text).toBe(201);
  const rule = await api(h, admin, 'POST', '/api/notifications/rules', {
    name: 'away-rule',
    channel: 'away',
    events: ['job.failed'],
    kinds: ['script'],
  });
  expect(rule.status, rule.text).toBe(201);

  const job = await api(h, operator, 'POST', '/api/jobs', { kind: 'script', script: 'fail' });
  expect(job.status, job.text).toBe(202);
  await waitForStatus(h, operator, job.json.id, ['failed']);

  const refused = async () =>
    (
      await h.database.db.execute(
        sql`SELECT d.job_id FROM notification_deliveries d JOIN notification_channels c ON c.id = d.channel_id
            WHERE c.name = 'away' AND NOT d.ok ORDER BY d.id`,
      )
    ).rows as { job_id: string }[];
  const [first] = await eventually(
    async () => ((await refused()).length > 0 ? refused() : null),
    30_000,
    'a refused attempt',
  );
  // The receiver stays away for a minute from the first refused attempt on.
  await sleep(DOWN_MS);
  expect(receiver.requests).toHaveLength(0);
  expect((await refused()).length).toBeGreaterThanOrEqual(5);
  await receiver.listen();

  await waitForStatus(h, admin, first!.job_id, ['succeeded'], 120_000);
  expect(receiver.requests).toHaveLength(1);
  expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({ event: 'job.failed', job: job.json.id });
}, 240_000);
