import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import nodemailer from 'nodemailer';
import { hostOf } from '../../jobs/lib/endpoints.ts';
import { checkedAddress, pinnedLookup } from '../endpoint-guard.ts';

/** A receiver's answer: the HTTP status or the SMTP reply code, and whether it took the message. */
export interface Delivered {
  ok: boolean;
  status: number | null;
  detail: string;
}

const TIMEOUT_MS = 10_000;

/** `t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`, as Stripe signs its webhooks (a receiver checks t is recent). */
export function signature(secret: string, body: string, unix: number): string {
  const mac = createHmac('sha256', secret).update(`${unix}.${body}`).digest('hex');
  return `t=${unix},v1=${mac}`;
}

/**
 * One POST to the address the URL's host resolves to once, checked against link-local and
 * metadata addresses (as health URLs are), so a DNS answer cannot swap in another later.
 */
export async function postJson(url: string, body: string, headers: Record<string, string>): Promise<Delivered> {
  const checked = await checkedAddress(hostOf(url));
  if (!checked) return { ok: false, status: null, detail: `${new URL(url).hostname} does not resolve` };
  return new Promise((resolve) => {
    const request = url.startsWith('https:') ? https.request : http.request;
    const req = request(
      url,
      {
        method: 'POST',
        timeout: TIMEOUT_MS,
        agent: false,
        lookup: pinnedLookup(checked),
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? null;
        const ok = status !== null && status >= 200 && status < 300;
        resolve({ ok, status, detail: `answered ${status}` });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    // The error names the address and port, never the URL's path (the credential).
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ ok: false, status: null, detail: err.code ?? err.message }),
    );
    req.end(body);
  });
}

export async function sendMail(
  smtpUrl: string,
  mail: { from: string; to: string[]; subject: string; text: string },
): Promise<Delivered> {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
  });
  try {
    const info = await transport.sendMail(mail);
    const status = Number.parseInt(String(info.response ?? ''), 10);
    return { ok: true, status: Number.isNaN(status) ? null : status, detail: `accepted for ${info.accepted.length}` };
  } catch (err) {
    const e = err as { responseCode?: number; code?: string; message?: string };
    return { ok: false, status: e.responseCode ?? null, detail: e.code ?? 'SMTP error' };
  } finally {
    transport.close();
  }
}
