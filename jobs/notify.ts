import { z } from 'zod';
import { findChannel } from '../db/notifications.ts';
import { JobValidationError } from './lib/errors.ts';
import { defineKind, type RetryPolicy } from './lib/kind.ts';

/** What a rule can fire on; `test` is an admin's test message from the Notifications page. */
export const notifyEvents = [
  'job.failed',
  'job.lost',
  'job.succeeded',
  'deploy.rolled_back',
  'cert.expiring',
  'target.restarted',
] as const;
export type NotifyEvent = (typeof notifyEvents)[number];

/** What happened, as the message tells it; already free of secrets (a job's error is redacted by its runner). */
export const eventFacts = z.strictObject({
  summary: z.string().min(1).max(500),
  detail: z.string().max(2000).nullable().default(null),
  target: z.string().max(200).nullable().default(null),
  kind: z.string().max(40).nullable().default(null),
  job: z.uuid().nullable().default(null),
  daysLeft: z.number().int().nullable().default(null),
});
export type EventFacts = z.infer<typeof eventFacts>;

const request = z.strictObject({
  channel: z.uuid(),
  rule: z.uuid().nullable().default(null),
  event: z.enum([...notifyEvents, 'test']),
  facts: eventFacts,
});
export type NotifyRequest = z.infer<typeof request>;

/**
 * BullMQ's exponential backoff waits `backoffMs × 2^(n-1)` before retry n. Eight attempts from
 * 1 s wait 1+2+4+…+64 = 127 s in all: a receiver down for a minute (a deploy, a restart) still
 * gets the message. DECKHAND_NOTIFY_BACKOFF_MS changes the first delay.
 */
export const NOTIFY_RETRY: RetryPolicy = { attempts: 8, backoffMs: 1000 };

/** The total wait between the first attempt and the last one. */
export const totalBackoffMs = (p: RetryPolicy): number => p.backoffMs * (2 ** (p.attempts - 1) - 1);

/**
 * Delivers one notification to one channel (worker/kinds/notify.ts). It takes no target lock,
 * and its own failure never notifies anyone (jobs/lib/notifier.ts skips it): no loops.
 */
export default defineKind({
  name: 'notify',
  description: 'Deliver a notification to a webhook, Slack or email channel',
  request,
  // Delivery is idempotent enough (a receiver may see a repeat, never a loss), so it retries.
  retry: NOTIFY_RETRY,
  // Requested by rules (their owner) and by admins testing a channel, never by operators.
  adminOnly: () => true,

  async resolve(req, env) {
    if (!(await findChannel(env.db, req.channel))) {
      throw new JobValidationError('no such notification channel', { channel: ['not found'] });
    }
    return {
      target: null,
      script: null,
      params: { channel: req.channel, rule: req.rule, event: req.event, facts: req.facts },
    };
  },

  fromStored: (stored) => stored.params,
});
