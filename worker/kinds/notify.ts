import { findChannel, recordDelivery } from '../../db/notifications.ts';
import { UnrecoverableError } from '../../jobs/lib/errors.ts';
import type { JobContext, KindEnv } from '../../jobs/lib/kind.ts';
import { openChannel } from '../../jobs/lib/notify-channels.ts';
import notify, { type NotifyRequest } from '../../jobs/notify.ts';
import { type Delivered, postJson, sendMail, signature } from '../notify/send.ts';
import { defineHandler } from './handler.ts';

/** The message in words, for Slack and email: what happened, then the facts a reader acts on. */
function text(req: NotifyRequest): string {
  const f = req.facts;
  const lines = [
    f.summary,
    f.detail,
    f.target && `target: ${f.target}`,
    f.job && `job: ${f.job}`,
    `event: ${req.event}`,
  ];
  return lines.filter(Boolean).join('\n');
}

async function send(ctx: JobContext, req: NotifyRequest, env: KindEnv): Promise<Delivered> {
  const row = await findChannel(env.db, req.channel);
  if (!row) throw new UnrecoverableError('the notification channel was deleted');
  const secrets = openChannel(env.secrets, row);
  ctx.redact([secrets.url, secrets.signingSecret, env.smtp.url].filter((s): s is string => Boolean(s)));
  if (row.type === 'email') {
    if (!env.smtp.url) throw new UnrecoverableError('DECKHAND_SMTP_URL is not set: email channels cannot send');
    const to = (row.settings as { to?: string[] }).to ?? [];
    return sendMail(env.smtp.url, {
      from: env.smtp.from,
      to,
      subject: `[Deckhand] ${req.facts.summary}`,
      text: text(req),
    });
  }
  if (!secrets.url) throw new UnrecoverableError(`channel ${row.name} has no URL`);
  if (row.type === 'slack') return postJson(secrets.url, JSON.stringify({ text: text(req) }), {});
  const body = JSON.stringify({
    event: req.event,
    at: new Date().toISOString(),
    delivery: ctx.jobId,
    rule: req.rule,
    ...req.facts,
  });
  const sig = signature(secrets.signingSecret ?? '', body, Math.floor(Date.now() / 1000));
  return postJson(secrets.url, body, { 'X-Deckhand-Signature': sig, 'X-Deckhand-Event': req.event });
}

/** One delivery attempt, recorded with the receiver's answer; a refusal or silence is retried with backoff. */
export default defineHandler(notify, async (ctx, req, env) => {
  const sent = await send(ctx, req, env);
  await recordDelivery(env.db, {
    jobId: ctx.jobId,
    channelId: req.channel,
    attempt: ctx.attempt,
    ok: sent.ok,
    status: sent.status,
    detail: sent.detail,
  });
  if (!sent.ok) throw new Error(`delivery failed: ${sent.detail}`);
  return { status: sent.status, detail: sent.detail };
});
