import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';

/** The SHA-256 fingerprint of the certificate served at host:port, or null if nothing answered. */
export function servedFingerprint(host: string, port: number, servername?: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = tls.connect(
      {
        host,
        port,
        servername: servername ?? (/^[\d.]+$/.test(host) ? undefined : host),
        rejectUnauthorized: false,
        timeout: 3000,
      },
      () => {
        const fp = socket.getPeerCertificate()?.fingerprint256 ?? null;
        socket.end();
        resolve(fp);
      },
    );
    socket.on('timeout', () => socket.destroy());
    socket.on('error', () => resolve(null));
  });
}

/** Polls the live endpoint until it serves `fingerprint`; throws with what it served instead. */
export async function waitForFingerprint(
  probe: string,
  fingerprint: string,
  opts: { timeoutMs: number; servername?: string | undefined; signal: AbortSignal },
): Promise<void> {
  const [host, port] = [probe.slice(0, probe.lastIndexOf(':')), Number(probe.slice(probe.lastIndexOf(':') + 1))];
  const deadline = Date.now() + opts.timeoutMs;
  let seen: string | null = null;
  while (Date.now() < deadline) {
    seen = await servedFingerprint(host, port, opts.servername);
    if (seen === fingerprint) return;
    await sleep(200, undefined, { signal: opts.signal });
  }
  throw new Error(`${probe} still serves ${seen ?? 'nothing'} after ${opts.timeoutMs / 1000} s, not ${fingerprint}`);
}
