import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

/** One GET; resolves with the status code, or null when nothing answered. */
function probe(url: string, verifyTls: boolean): Promise<number | null> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { rejectUnauthorized: verifyTls, timeout: 3000, agent: false }, (res) => {
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
