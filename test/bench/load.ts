import http from 'node:http';

/** Small load tools for the benchmark: a keep-alive HTTP client, a fixed-concurrency runner, percentiles. */

// node:http with keep-alive costs the load generator far less CPU than fetch, which matters on 2 cores.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export function request(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function withConcurrency<T>(
  total: number,
  concurrency: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(total);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Requests per second that `url` sustains for `ms` at `concurrency` keep-alive clients. */
export async function measureRps(
  url: string,
  headers: Record<string, string>,
  concurrency: number,
  ms: number,
): Promise<number> {
  const deadline = Date.now() + ms;
  let done = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const res = await request('GET', url, headers);
        if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
        done++;
      }
    }),
  );
  return done / ((Date.now() - started) / 1000);
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
