import { Hono } from 'hono';
import { listChannels, listRules, recentDeliveries } from '../../db/notifications.ts';
import { channelBody, toApiChannel } from '../../jobs/lib/notify-channels.ts';
import type { AppEnv } from '../context.ts';
import { jsonBody, parseOr400 } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import {
  changeRule,
  createChannel,
  createRule,
  removeChannel,
  removeRule,
  ruleBody,
  ruleChange,
  testChannel,
  toApiRule,
} from '../notification-service.ts';
import { apiDoc } from '../openapi/describe.ts';

export const toApiDelivery = (d: Awaited<ReturnType<typeof recentDeliveries>>[number]) => ({
  job: d.jobId,
  channel: d.channel,
  attempt: d.attempt,
  at: d.at.toISOString(),
  ok: d.ok,
  status: d.status,
  detail: d.detail,
});

const tag = 'notifications';
const admin = requireRole('admin');
const anId = { id: { example: '00000000-0000-4000-8000-000000000000' } };

/** Notification channels, rules and the latest deliveries (DESIGN §11); admins only. */
export const notificationsApi = new Hono<AppEnv>()
  .get(
    '/channels',
    apiDoc({
      tag,
      summary: 'List notification channels (URLs masked to scheme and host)',
      role: 'admin',
      ok: { status: 200, description: '`{items:[{id, name, type, endpoint, to, createdAt}]}`' },
    }),
    admin,
    async (c) => c.json({ items: (await listChannels(c.var.deps.db)).map(toApiChannel) }),
  )
  .post(
    '/channels',
    apiDoc({
      tag,
      summary: 'Add a channel: a signed webhook, a Slack webhook or email',
      description:
        'A webhook answer holds its `signingSecret` once: deliveries carry `X-Deckhand-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`. Email needs DECKHAND_SMTP_URL.',
      role: 'admin',
      body: {
        schema: channelBody,
        examples: {
          webhook: { type: 'webhook', name: 'ops', url: 'https://hooks.example.com/deckhand' },
          slack: { type: 'slack', name: 'ops-slack', url: 'https://hooks.slack.com/services/T000/B000/XXXX' },
        },
      },
      ok: { status: 201, description: "The channel (and a webhook's `signingSecret`, shown once)" },
      errors: [409],
    }),
    admin,
    async (c) => {
      const body = parseOr400(channelBody, await jsonBody(c.req), 'channel');
      return c.json(await createChannel(c.var.deps, c.var.user!, body), 201);
    },
  )
  .delete(
    '/channels/:id',
    apiDoc({
      tag,
      summary: 'Delete a channel and its rules',
      role: 'admin',
      params: anId,
      ok: { status: 204, description: 'Deleted' },
      errors: [404],
    }),
    admin,
    async (c) => {
      await removeChannel(c.var.deps, c.var.user!, c.req.param('id'));
      return c.body(null, 204);
    },
  )
  .post(
    '/channels/:id/test',
    apiDoc({
      tag,
      summary: 'Send a test notification through a channel (a notify job)',
      role: 'admin',
      params: anId,
      ok: { status: 202, description: '`{id, status:"queued", url}`' },
      errors: [404],
    }),
    admin,
    async (c) => {
      const { id } = await testChannel(c.var.deps, c.var.user!, c.req.param('id'));
      return c.json({ id, status: 'queued', url: `/api/jobs/${id}` }, 202);
    },
  )
  .get(
    '/rules',
    apiDoc({
      tag,
      summary: 'List notification rules',
      role: 'admin',
      ok: {
        status: 200,
        description:
          '`{items:[{id, name, channel, events, targets, kinds, certDays, enabled, owner, ownerActive}]}`; a rule fires only while ownerActive (its owner is an enabled admin)',
      },
    }),
    admin,
    async (c) => c.json({ items: (await listRules(c.var.deps.db)).map(toApiRule) }),
  )
  .post(
    '/rules',
    apiDoc({
      tag,
      summary: 'Add a rule: on these events, for these targets and kinds, notify this channel',
      description:
        'Empty `targets`/`kinds` match all; `kinds` filter job events only. Deliveries are requested by you.',
      role: 'admin',
      body: {
        schema: ruleBody,
        examples: {
          failures: {
            name: 'failed-deploys',
            channel: 'ops',
            events: ['job.failed', 'deploy.rolled_back'],
            kinds: ['deploy'],
          },
          certs: { name: 'certificates', channel: 'ops', events: ['cert.expiring'], certDays: 21 },
        },
      },
      ok: { status: 201, description: 'The rule' },
      errors: [409],
    }),
    admin,
    async (c) => {
      const body = parseOr400(ruleBody, await jsonBody(c.req), 'rule');
      return c.json(await createRule(c.var.deps, c.var.user!, body), 201);
    },
  )
  .patch(
    '/rules/:id',
    apiDoc({
      tag,
      summary: 'Pause or resume a rule',
      role: 'admin',
      params: anId,
      body: { schema: ruleChange, examples: { pause: { enabled: false } } },
      ok: { status: 200, description: 'The rule' },
      errors: [404],
    }),
    admin,
    async (c) => {
      const body = parseOr400(ruleChange, await jsonBody(c.req), 'rule change');
      return c.json(await changeRule(c.var.deps, c.var.user!, c.req.param('id'), body.enabled));
    },
  )
  .delete(
    '/rules/:id',
    apiDoc({
      tag,
      summary: 'Delete a rule',
      role: 'admin',
      params: anId,
      ok: { status: 204, description: 'Deleted' },
      errors: [404],
    }),
    admin,
    async (c) => {
      await removeRule(c.var.deps, c.var.user!, c.req.param('id'));
      return c.body(null, 204);
    },
  )
  .get(
    '/deliveries',
    apiDoc({
      tag,
      summary: "The latest delivery attempts, with the receiver's answer (HTTP status or SMTP reply)",
      role: 'admin',
      ok: { status: 200, description: '`{items:[{job, channel, attempt, at, ok, status, detail}]}`' },
    }),
    admin,
    async (c) => c.json({ items: (await recentDeliveries(c.var.deps.db)).map(toApiDelivery) }),
  );
