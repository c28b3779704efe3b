import { inArray } from 'drizzle-orm';
import { z } from 'zod';
import { type Actor, audit } from '../db/audit.ts';
import {
  type ChannelRow,
  deleteChannel,
  deleteRule,
  findChannel,
  findChannelByName,
  insertChannel,
  insertRule,
  listRules,
  type RuleRow,
  setRuleEnabled,
} from '../db/notifications.ts';
import { targets } from '../db/schema.ts';
import { type ChannelBody, channelName, sealChannel, toApiChannel } from '../jobs/lib/notify-channels.ts';
import { targetName } from '../jobs/lib/targets.ts';
import notify, { notifyEvents } from '../jobs/notify.ts';
import type { SessionUser } from './auth/sessions.ts';
import type { AppDeps } from './context.ts';
import { badRequest, conflict, notFound } from './errors.ts';
import { submitJob } from './job-service.ts';

/** Channels and rules, as the API and the Notifications page manage them (admins only, audited). */

export const ruleBody = z.strictObject({
  name: channelName,
  channel: channelName,
  events: z.array(z.enum(notifyEvents)).min(1).max(notifyEvents.length),
  targets: z.array(targetName).max(100).default([]),
  kinds: z.array(z.string().min(1).max(40)).max(20).default([]),
  certDays: z.number().int().min(1).max(365).default(14),
  enabled: z.boolean().default(true),
});
export type RuleBody = z.infer<typeof ruleBody>;

export const ruleChange = z.strictObject({ enabled: z.boolean() });

const actorOf = (u: SessionUser): Actor => ({ id: u.id, name: u.username });
const isUuid = (id: string) => z.uuid().safeParse(id).success;

export async function createChannel(deps: AppDeps, user: SessionUser, body: ChannelBody) {
  if (body.type === 'email' && !deps.config.DECKHAND_SMTP_URL) {
    throw badRequest('email channels need an SMTP server: set DECKHAND_SMTP_URL', {
      type: ['DECKHAND_SMTP_URL is not set'],
    });
  }
  const { settings, sealed, signingSecret } = sealChannel(deps.env.secrets, body);
  const row = await insertChannel(deps.db, { name: body.name, type: body.type, settings, sealed, createdBy: user.id });
  if (!row) throw conflict(`a channel named ${body.name} already exists`);
  const shown = toApiChannel(row);
  await audit(deps.db, actorOf(user), 'notification.channel.create', row.name, {
    type: row.type,
    endpoint: shown.endpoint,
    to: shown.to,
  });
  // The signing secret is in this answer only: the receiver needs it to check signatures.
  return { ...shown, ...(signingSecret ? { signingSecret } : {}) };
}

async function channelOr404(deps: AppDeps, id: string): Promise<ChannelRow> {
  const row = isUuid(id) ? await findChannel(deps.db, id) : null;
  if (!row) throw notFound('channel');
  return row;
}

export async function removeChannel(deps: AppDeps, user: SessionUser, id: string): Promise<void> {
  const row = isUuid(id) ? await deleteChannel(deps.db, id) : null;
  if (!row) throw notFound('channel');
  await audit(deps.db, actorOf(user), 'notification.channel.delete', row.name, { type: row.type });
}

/** A test message through the channel, as a `notify` job of its own (retried like any delivery). */
export async function testChannel(deps: AppDeps, user: SessionUser, id: string) {
  const row = await channelOr404(deps, id);
  const facts = { summary: `Test notification from Deckhand to ${row.name}`, detail: `sent by ${user.username}` };
  const req = notify.request.parse({ channel: row.id, event: 'test', facts });
  return submitJob(deps, user, { kind: notify.name, ...(await notify.resolve(req, deps.env)) });
}

export const toApiRule = (r: RuleRow & { channelName: string; ownerName: string; ownerActive: boolean }) => ({
  id: r.id,
  name: r.name,
  channel: r.channelName,
  events: r.events,
  targets: r.targets,
  kinds: r.kinds,
  certDays: r.certDays,
  enabled: r.enabled,
  owner: r.ownerName,
  ownerActive: r.ownerActive,
  createdAt: r.createdAt.toISOString(),
});

/** Names that point nowhere are refused, so a typo never makes a rule that silently never fires. */
async function checkRuleNames(deps: AppDeps, body: RuleBody): Promise<void> {
  const kinds = [...deps.registry.keys()].filter((k) => k !== notify.name);
  const badKinds = body.kinds.filter((k) => !kinds.includes(k));
  if (badKinds.length > 0) throw badRequest(`unknown job kinds: ${badKinds.join(', ')}`, { kinds });
  if (body.targets.length === 0) return;
  const known = await deps.db.select({ name: targets.name }).from(targets).where(inArray(targets.name, body.targets));
  const missing = body.targets.filter((t) => !known.some((k) => k.name === t));
  if (missing.length > 0) throw badRequest(`unknown targets: ${missing.join(', ')}`, { targets: missing });
}

export async function createRule(deps: AppDeps, user: SessionUser, body: RuleBody) {
  const channel = await findChannelByName(deps.db, body.channel);
  if (!channel) throw badRequest(`no channel named ${body.channel}`, { channel: ['not found'] });
  await checkRuleNames(deps, body);
  const { channel: _, ...rest } = body;
  const row = await insertRule(deps.db, { ...rest, channelId: channel.id, owner: user.id });
  if (!row) throw conflict(`a rule named ${body.name} already exists`);
  await audit(deps.db, actorOf(user), 'notification.rule.create', row.name, { ...rest, channel: channel.name });
  return toApiRule({ ...row, channelName: channel.name, ownerName: user.username, ownerActive: true });
}

export async function changeRule(deps: AppDeps, user: SessionUser, id: string, enabled: boolean) {
  const row = isUuid(id) ? await setRuleEnabled(deps.db, id, enabled) : null;
  if (!row) throw notFound('rule');
  await audit(deps.db, actorOf(user), 'notification.rule.update', row.name, { enabled });
  const [shown] = (await listRules(deps.db)).filter((r) => r.id === row.id);
  return toApiRule(shown!);
}

export async function removeRule(deps: AppDeps, user: SessionUser, id: string): Promise<void> {
  const row = isUuid(id) ? await deleteRule(deps.db, id) : null;
  if (!row) throw notFound('rule');
  await audit(deps.db, actorOf(user), 'notification.rule.delete', row.name);
}
