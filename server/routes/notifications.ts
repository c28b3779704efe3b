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

export const toApiDelivery = (d: Awaited<ReturnType<typeof recentDeliveries>>[number]) => ({
  job: d.jobId,
  channel: d.channel,
  attempt: d.attempt,
  at: d.at.toISOString(),
  ok: d.ok,
  status: d.status,
  detail: d.detail,
});

/** Notification channels, rules and the latest deliveries (DESIGN §11); admins only. */
export const notificationsApi = new Hono<AppEnv>()
  .use('*', requireRole('admin'))
  .get('/channels', async (c) => c.json({ items: (await listChannels(c.var.deps.db)).map(toApiChannel) }))
  .post('/channels', async (c) => {
    const body = parseOr400(channelBody, await jsonBody(c.req.raw), 'channel');
    return c.json(await createChannel(c.var.deps, c.var.user!, body), 201);
  })
  .delete('/channels/:id', async (c) => {
    await removeChannel(c.var.deps, c.var.user!, c.req.param('id'));
    return c.body(null, 204);
  })
  .post('/channels/:id/test', async (c) => {
    const { id } = await testChannel(c.var.deps, c.var.user!, c.req.param('id'));
    return c.json({ id, status: 'queued', url: `/api/jobs/${id}` }, 202);
  })
  .get('/rules', async (c) => c.json({ items: (await listRules(c.var.deps.db)).map(toApiRule) }))
  .post('/rules', async (c) => {
    const body = parseOr400(ruleBody, await jsonBody(c.req.raw), 'rule');
    return c.json(await createRule(c.var.deps, c.var.user!, body), 201);
  })
  .patch('/rules/:id', async (c) => {
    const body = parseOr400(ruleChange, await jsonBody(c.req.raw), 'rule change');
    return c.json(await changeRule(c.var.deps, c.var.user!, c.req.param('id'), body.enabled));
  })
  .delete('/rules/:id', async (c) => {
    await removeRule(c.var.deps, c.var.user!, c.req.param('id'));
    return c.body(null, 204);
  })
  .get('/deliveries', async (c) => c.json({ items: (await recentDeliveries(c.var.deps.db)).map(toApiDelivery) }));
