import { desc, eq, getTableColumns, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { notificationChannels, notificationDeliveries, notificationRules, users } from './schema.ts';

/**
 * Notification channels, rules and deliveries. Channel secrets arrive here already sealed
 * (jobs/lib/secret-box.ts): db/ stores bytes, it never sees a URL or a signing secret.
 */

export type ChannelType = 'webhook' | 'slack' | 'email';
export type ChannelRow = typeof notificationChannels.$inferSelect;
export type RuleRow = typeof notificationRules.$inferSelect;

export async function insertChannel(
  db: Db,
  c: {
    name: string;
    type: ChannelType;
    settings: Record<string, unknown>;
    sealed: Uint8Array | null;
    createdBy: string;
  },
): Promise<ChannelRow | null> {
  const [row] = await db.insert(notificationChannels).values(c).onConflictDoNothing().returning();
  return row ?? null;
}

export const listChannels = (db: Db) => db.select().from(notificationChannels).orderBy(notificationChannels.name);

export async function findChannel(db: Db, id: string): Promise<ChannelRow | null> {
  const [row] = await db.select().from(notificationChannels).where(eq(notificationChannels.id, id));
  return row ?? null;
}

export async function findChannelByName(db: Db, name: string): Promise<ChannelRow | null> {
  const [row] = await db.select().from(notificationChannels).where(eq(notificationChannels.name, name));
  return row ?? null;
}

/** Deletes the channel and (cascade) its rules; false when there was none. */
export async function deleteChannel(db: Db, id: string): Promise<ChannelRow | null> {
  const [row] = await db.delete(notificationChannels).where(eq(notificationChannels.id, id)).returning();
  return row ?? null;
}

export interface NewRule {
  name: string;
  channelId: string;
  events: string[];
  targets: string[];
  kinds: string[];
  certDays: number;
  enabled: boolean;
  owner: string;
}

export async function insertRule(db: Db, r: NewRule): Promise<RuleRow | null> {
  const [row] = await db.insert(notificationRules).values(r).onConflictDoNothing().returning();
  return row ?? null;
}

export interface RuleWithChannel extends RuleRow {
  channelName: string;
  ownerName: string;
  /** The owner is still an enabled admin: only then does the rule fire (firingRules). */
  ownerActive: boolean;
}

/** Rules are an admin's: one whose owner is disabled or demoted fires nothing until the owner is an enabled admin again. */
const OWNER_ACTIVE = sql<boolean>`(NOT ${users.disabled} AND ${users.role} = 'admin')`;

export async function listRules(db: Db): Promise<RuleWithChannel[]> {
  return db
    .select({
      ...getTableColumns(notificationRules),
      channelName: notificationChannels.name,
      ownerName: users.username,
      ownerActive: OWNER_ACTIVE,
    })
    .from(notificationRules)
    .innerJoin(notificationChannels, eq(notificationChannels.id, notificationRules.channelId))
    .innerJoin(users, eq(users.id, notificationRules.owner))
    .orderBy(notificationRules.name);
}

export async function setRuleEnabled(db: Db, id: string, enabled: boolean): Promise<RuleRow | null> {
  const [row] = await db.update(notificationRules).set({ enabled }).where(eq(notificationRules.id, id)).returning();
  return row ?? null;
}

export async function deleteRule(db: Db, id: string): Promise<RuleRow | null> {
  const [row] = await db.delete(notificationRules).where(eq(notificationRules.id, id)).returning();
  return row ?? null;
}

/** A rule that fires, with what a delivery job needs: its channel and the owner who requests it. */
export interface FiringRule {
  id: string;
  channelId: string;
  certDays: number;
  owner: string;
  ownerName: string;
}

/**
 * The enabled rules of enabled admins for `event` on this target and kind. An empty list in a rule matches
 * everything; a rule that names targets never matches an event without one (a script job).
 * Kinds filter job events only: a restart or a certificate has no job kind.
 */
export async function firingRules(
  db: Db,
  event: string,
  on: { target: string | null; kind: string | null; jobEvent: boolean },
): Promise<FiringRule[]> {
  const r = await db.execute(sql`
    SELECT r.id, r.channel_id, r.cert_days, r.owner, u.username
    FROM notification_rules r JOIN users u ON u.id = r.owner
    WHERE r.enabled AND NOT u.disabled AND u.role = 'admin' AND r.events ? ${event}::text
      AND (r.targets = '[]'::jsonb OR (${on.target}::text IS NOT NULL AND r.targets ? ${on.target}::text))
      AND (NOT ${on.jobEvent}::boolean OR r.kinds = '[]'::jsonb
        OR (${on.kind}::text IS NOT NULL AND r.kinds ? ${on.kind}::text))`);
  return (r.rows as Record<string, unknown>[]).map((x) => ({
    id: String(x.id),
    channelId: String(x.channel_id),
    certDays: Number(x.cert_days),
    owner: String(x.owner),
    ownerName: String(x.username),
  }));
}

/** True when a deploy job ended by switching back to the release that was live before it. */
export async function deployRolledBack(db: Db, jobId: string): Promise<boolean> {
  const r = await db.execute(sql`SELECT 1 FROM deployments WHERE job_id = ${jobId} AND phase = 'rolled-back'`);
  return r.rows.length > 0;
}

export async function recordDelivery(
  db: Db,
  d: {
    jobId: string;
    channelId: string | null;
    attempt: number;
    ok: boolean;
    status: number | null;
    detail: string | null;
  },
): Promise<void> {
  await db.insert(notificationDeliveries).values(d);
}

export async function recentDeliveries(db: Db, limit = 50) {
  return db
    .select({
      jobId: notificationDeliveries.jobId,
      channel: notificationChannels.name,
      attempt: notificationDeliveries.attempt,
      at: notificationDeliveries.at,
      ok: notificationDeliveries.ok,
      status: notificationDeliveries.status,
      detail: notificationDeliveries.detail,
    })
    .from(notificationDeliveries)
    .leftJoin(notificationChannels, eq(notificationChannels.id, notificationDeliveries.channelId))
    .orderBy(desc(notificationDeliveries.id))
    .limit(limit);
}
