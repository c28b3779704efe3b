import { Hono } from 'hono';
import { listChannels, listRules, recentDeliveries } from '../../db/notifications.ts';
import { channelBody, toApiChannel } from '../../jobs/lib/notify-channels.ts';
import notify, { notifyEvents } from '../../jobs/notify.ts';
import { NewChannel, NotificationsPage } from '../../views/notifications.tsx';
import type { AppEnv } from '../context.ts';
import { pageOf } from '../context.ts';
import { parseOr400 } from '../errors.ts';
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
import { toApiDelivery } from './notifications.ts';

/** A form's fields (repeated ones as lists), without the CSRF field and empty inputs. */
async function formFields(req: { parseBody(o: { all: true }): Promise<Record<string, unknown>> }) {
  const form = await req.parseBody({ all: true });
  const fields: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(form)) {
    const values = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string' && x.trim() !== '');
    if (k === '_csrf' || values.length === 0) continue;
    fields[k] = values.length === 1 ? values[0]! : values;
  }
  return fields;
}

const list = (v: string | string[] | undefined): string[] =>
  (Array.isArray(v) ? v : (v ?? '').split(',')).map((s) => s.trim()).filter(Boolean);

const refresh = (c: { header(k: string, v: string): void; body(b: null, s: 204): Response }) => {
  c.header('HX-Refresh', 'true');
  return c.body(null, 204);
};

/** The Notifications page and its htmx forms, over the same service as /api/notifications. */
export const notificationPages = new Hono<AppEnv>()
  .get('/notifications', requireRole('admin'), async (c) => {
    const { db, registry, config } = c.var.deps;
    const [channels, rules, deliveries] = await Promise.all([listChannels(db), listRules(db), recentDeliveries(db)]);
    return c.html(
      <NotificationsPage
        {...pageOf(c)}
        channels={channels.map(toApiChannel)}
        rules={rules.map(toApiRule)}
        deliveries={deliveries.map(toApiDelivery)}
        events={notifyEvents}
        kinds={[...registry.keys()].filter((k) => k !== notify.name)}
        smtpConfigured={Boolean(config.DECKHAND_SMTP_URL)}
      />,
    );
  })
  .post('/ui/notifications/channels', requireRole('admin'), async (c) => {
    const f = await formFields(c.req);
    const base = { type: f.type, name: f.name };
    const body = f.type === 'email' ? { ...base, to: list(f.to) } : { ...base, url: f.url };
    const ch = await createChannel(c.var.deps, c.var.user!, parseOr400(channelBody, body, 'channel'));
    c.header('HX-Trigger', 'channel-saved');
    return c.html(<NewChannel name={ch.name} signingSecret={ch.signingSecret ?? null} />, 201);
  })
  .post('/ui/notifications/channels/:id/test', requireRole('admin'), async (c) => {
    const { id } = await testChannel(c.var.deps, c.var.user!, c.req.param('id'));
    return c.html(
      <p role="status">
        Test queued as <a href={`/jobs/${id}`}>job {id.slice(0, 8)}</a>.
      </p>,
      202,
    );
  })
  .post('/ui/notifications/channels/:id/delete', requireRole('admin'), async (c) => {
    await removeChannel(c.var.deps, c.var.user!, c.req.param('id'));
    return refresh(c);
  })
  .post('/ui/notifications/rules', requireRole('admin'), async (c) => {
    const f = await formFields(c.req);
    const body = {
      name: f.name,
      channel: f.channel,
      events: list(f.events),
      targets: list(f.targets),
      kinds: list(f.kinds),
      ...(f.certDays !== undefined && { certDays: Number(f.certDays) }),
    };
    await createRule(c.var.deps, c.var.user!, parseOr400(ruleBody, body, 'rule'));
    return refresh(c);
  })
  .post('/ui/notifications/rules/:id', requireRole('admin'), async (c) => {
    const f = await formFields(c.req);
    const { enabled } = parseOr400(ruleChange, { enabled: f.enabled === 'true' }, 'rule change');
    await changeRule(c.var.deps, c.var.user!, c.req.param('id'), enabled);
    return refresh(c);
  })
  .post('/ui/notifications/rules/:id/delete', requireRole('admin'), async (c) => {
    await removeRule(c.var.deps, c.var.user!, c.req.param('id'));
    return refresh(c);
  });
