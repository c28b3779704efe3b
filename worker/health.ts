import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostOf } from '../jobs/lib/endpoints.ts';
import { checkedAddress, pinnedLookup } from './endpoint-guard.ts';

/**
 * One GET to the address the URL's host resolves to once and is checked against
 * (never a link-local or metadata address); the status code, or null when nothing answered.
 */
async function probe(url: string, verifyTls: boolean): Promise<number | null> {
  const checked = await checkedAddress(hostOf(url));
  if (!checked) return null;
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const opts = { rejectUnauthorized: verifyTls, timeout: 3000, agent: false, lookup: pinnedLookup(checked) };
    const req = get(url, opts, (res) => {
      res.resume();
      resolve(res.statusCode ?? null);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** Polls the health URL until it answers 2xx, or throws after `timeoutMs` with the last answer. */
export async function waitHealthy(url: string, opts: { timeoutMs: number; verifyTls: boolean; signal: AbortSignal }) {
  const deadline = Date.now() + opts.timeoutMs;
  let last: number | null = null;
  while (Date.now() < deadline) {
    last = await probe(url, opts.verifyTls);
    if (last !== null && last >= 200 && last < 300) return last;
    await sleep(250, undefined, { signal: opts.signal });
  }
  throw new Error(`health check failed: ${url} answered ${last ?? 'nothing'} for ${opts.timeoutMs / 1000} s`);
}
