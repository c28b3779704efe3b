import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { NOTIFY_RETRY, totalBackoffMs } from '../jobs/notify.ts';
import { auditSentence } from '../views/audit-sentence.ts';
import { signature } from '../worker/notify/send.ts';

describe('the notify retry policy', () => {
  it('by default keeps retrying for more than a minute, so a receiver down for a minute still gets it', () => {
    expect(NOTIFY_RETRY.attempts).toBeGreaterThan(1);
    expect(totalBackoffMs(NOTIFY_RETRY)).toBeGreaterThanOrEqual(60_000);
    // The delivery job's first delay defaults to the policy's own.
    expect(loadConfig({}).DECKHAND_NOTIFY_BACKOFF_MS).toBe(NOTIFY_RETRY.backoffMs);
  });

  it('adds up BullMQ exponential delays (backoff × 2^(n-1) before retry n)', () => {
    expect(totalBackoffMs({ attempts: 4, backoffMs: 100 })).toBe(100 + 200 + 400);
    expect(totalBackoffMs({ attempts: 1, backoffMs: 100 })).toBe(0);
  });
});

describe('the webhook signature', () => {
  it('is t=<unix>,v1=<hex HMAC-SHA256 of "t.body">', () => {
    const body = '{"event":"job.failed"}';
    const mac = createHmac('sha256', 'whsec_test').update(`1700000000.${body}`).digest('hex');
    expect(signature('whsec_test', body, 1_700_000_000)).toBe(`t=1700000000,v1=${mac}`);
  });
});

describe('the SMTP setting', () => {
  it('fails fast naming DECKHAND_SMTP_URL when it is not an smtp(s) URL', () => {
    expect(() => loadConfig({ DECKHAND_SMTP_URL: 'http://mail.example.com' })).toThrow(/DECKHAND_SMTP_URL/);
    expect(loadConfig({ DECKHAND_SMTP_URL: 'smtps://u:p@mail.example.com:465' }).DECKHAND_SMTP_URL).toBe(
      'smtps://u:p@mail.example.com:465',
    );
  });
});

describe('notification audit rows as sentences', () => {
  it('say what the admin did, and what a delivery was about', () => {
    const say = (action: string, subject: string, details: Record<string, unknown> = {}) =>
      auditSentence({ actor: 'nora', action, subject, details });
    expect(say('notification.channel.create', 'ops', { type: 'webhook' })).toBe(
      'nora added the webhook notification channel ops',
    );
    expect(say('notification.rule.update', 'deploys', { enabled: false })).toBe(
      'nora paused the notification rule deploys',
    );
    expect(say('job.enqueue', 'x', { kind: 'notify', event: 'job.failed', target: 'shop' })).toBe(
      'nora sent a job.failed notification about shop',
    );
  });
});
