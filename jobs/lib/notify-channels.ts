import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ChannelRow } from '../../db/notifications.ts';
import { forbiddenHost } from './endpoints.ts';
import type { SecretBox } from './secret-box.ts';

/**
 * Notification channels as both tiers see them. A webhook's or Slack's URL (whose path is the
 * credential) and a webhook's signing secret are sealed like a target's env secrets; what may be
 * shown is a masked endpoint (scheme and host) and an email channel's recipients.
 */

export const channelName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'a name is 1-63 lowercase letters, digits, ".", "_" or "-"');

/** An http(s) URL that never points at a link-local or cloud metadata address (checked again at use). */
export const receiverUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .max(2000)
  .superRefine((u, ctx) => {
    const why = forbiddenHost(new URL(u).hostname);
    if (why) ctx.addIssue({ code: 'custom', message: `refused: ${why}` });
  });

export const channelBody = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('webhook'), name: channelName, url: receiverUrl }),
  z.strictObject({ type: z.literal('slack'), name: channelName, url: receiverUrl }),
  z.strictObject({ type: z.literal('email'), name: channelName, to: z.array(z.email()).min(1).max(20) }),
]);
export type ChannelBody = z.infer<typeof channelBody>;

/** What a channel keeps sealed. */
export interface ChannelSecrets {
  url?: string;
  signingSecret?: string;
}

/** `https://hooks.example.com/…`: enough to recognise the receiver, none of its credential. */
export function maskedEndpoint(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}/…`;
}

/** The row to store for a new channel, and the signing secret to show once (webhooks). */
export function sealChannel(box: SecretBox, body: ChannelBody) {
  if (body.type === 'email') {
    return { settings: { to: body.to }, sealed: null, signingSecret: null };
  }
  const signingSecret = body.type === 'webhook' ? `whsec_${randomBytes(24).toString('base64url')}` : null;
  const secrets: ChannelSecrets = { url: body.url, ...(signingSecret ? { signingSecret } : {}) };
  return {
    settings: { endpoint: maskedEndpoint(body.url) },
    sealed: box.seal(JSON.stringify(secrets)),
    signingSecret,
  };
}

export function openChannel(box: SecretBox, row: Pick<ChannelRow, 'sealed'>): ChannelSecrets {
  return row.sealed ? (JSON.parse(box.open(row.sealed)) as ChannelSecrets) : {};
}

/** A channel as the API and the pages show it: never its URL or signing secret. */
export function toApiChannel(row: ChannelRow) {
  const settings = row.settings as { endpoint?: string; to?: string[] };
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    endpoint: settings.endpoint ?? null,
    to: settings.to ?? [],
    createdAt: row.createdAt.toISOString(),
  };
}
