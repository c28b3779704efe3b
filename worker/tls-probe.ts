import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { checkedAddress } from './endpoint-guard.ts';

/**
 * The SHA-256 fingerprint of the certificate served at host:port, or null if nothing answered.
 * It connects to the address `host` resolves to once and is checked against (never a
 * link-local or metadata address); SNI still names the host.
 */
export async function servedFingerprint(host: string, port: number, servername?: string): Promise<string | null> {
  const checked = await checkedAddress(host);
  if (!checked) return null;
  return new Promise((resolve) => {
    const socket = tls.connect(
      {
        host: checked.address,
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

const CONFIRMATIONS = 3;

/** Polls the live endpoint until it serves `fingerprint` on several connections in a row; throws with what it served instead. */
export async function waitForFingerprint(
  probe: string,
  fingerprint: string,
  opts: { timeoutMs: number; servername?: string | undefined; signal: AbortSignal },
): Promise<void> {
  const [host, port] = [probe.slice(0, probe.lastIndexOf(':')), Number(probe.slice(probe.lastIndexOf(':') + 1))];
  const deadline = Date.now() + opts.timeoutMs;
  let seen: string | null = null;
  let streak = 0;
  while (Date.now() < deadline) {
    seen = await servedFingerprint(host, port, opts.servername);
    // Old worker processes (nginx, gunicorn) may answer for a moment after a reload: require a streak.
    streak = seen === fingerprint ? streak + 1 : 0;
    if (streak === CONFIRMATIONS) return;
    await sleep(streak > 0 ? 100 : 200, undefined, { signal: opts.signal });
  }
  throw new Error(`${probe} still serves ${seen ?? 'nothing'} after ${opts.timeoutMs / 1000} s, not ${fingerprint}`);
}
