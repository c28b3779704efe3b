import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Logger } from '../../config.ts';
import type { Db } from '../../db/client.ts';
import { hostTargets, publishStatus, releasePublisherLock, tryPublisherLock } from '../../db/host-status.ts';
import type { TargetStatus } from '../../db/status-shapes.ts';
import type { TargetSample } from '../../jobs/lib/notifier.ts';
import { readHostFigures } from './host-figures.ts';
import { nextLastSeen, noteUnexpectedRestart } from './restarts.ts';
import { probeTarget } from './target-probe.ts';

export interface StatusPublisherOptions {
  /** DECKHAND_HOST_NAME: the host whose figures and targets this worker publishes. */
  host: string;
  worker: string;
  intervalMs: number;
  managed: readonly string[];
  log: Logger;
  /** After a sample is committed: its unexpected restarts and certificates (notifications); never throws. */
  onSample?: (sample: TargetSample) => Promise<void>;
}

/** How long a stopping worker waits for a sample under way before it gives up the lock. */
const STOP_WAIT_MS = 1000;

/** Targets probed at once: each probe may spawn a supervisorctl or systemctl. */
const PROBES_AT_ONCE = 4;

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** One sample: the host's figures and each target's status, compared with the last one for restarts. */
async function publishOnce(conn: pg.PoolClient, o: StatusPublisherOptions): Promise<TargetSample> {
  const [figures, { now, rows }] = await Promise.all([readHostFigures(), hostTargets(conn, o.host, true)]);
  const at = now.toISOString();
  const probed = await mapLimited(rows, PROBES_AT_ONCE, (row) => probeTarget(row.spec, o.managed));
  const targets = rows.map((row, i) => {
    // A target saved since its process was last seen may name another program: not a restart of the same one.
    const seen = row.previous?.lastSeen ?? null;
    const previous = seen && Date.parse(seen.at) >= row.updatedAt.getTime() ? seen : null;
    const status: TargetStatus = { ...probed[i]!, lastSeen: nextLastSeen(previous, probed[i]!, at) };
    return { name: row.name, previous, status };
  });
  // The restarts and the sample that supersedes their "last seen" land together, so none is counted twice.
  const sample: TargetSample = { restarts: [], certs: [] };
  await conn.query('BEGIN');
  try {
    for (const t of targets) {
      if (await noteUnexpectedRestart(conn, t.name, t.previous, t.status)) {
        const { pid: newPid, startedAt } = t.status;
        sample.restarts.push({ target: t.name, newPid, startedAt, detail: t.status.detail });
      }
    }
    const published = targets.map(({ name, status }) => ({ name, status }));
    await publishStatus(conn, { host: o.host, worker: o.worker, figures, targets: published });
    await conn.query('COMMIT');
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => {});
    throw err;
  }
  for (const { name, status } of targets) {
    if (status.certDaysLeft !== null && status.certExpiresAt) {
      sample.certs.push({ target: name, daysLeft: status.certDaysLeft, expiresAt: status.certExpiresAt });
    }
  }
  return sample;
}

/**
 * Publishes the host's status every `intervalMs` (DESIGN §9). Every worker of the host runs one;
 * only the holder of the host's advisory lock probes, so N workers do not spawn N supervisorctls.
 * The lock lives on a connection of its own: when that worker dies, its connection closes,
 * and the next worker to try takes over within an interval.
 */
export function startStatusPublisher(db: Db, o: StatusPublisherOptions): { stop(): Promise<void> } {
  let conn: pg.PoolClient | null = null;
  let stopped = false;
  let busy: Promise<void> | null = null;

  const drop = (err?: unknown) => {
    if (err && !stopped) o.log.warn({ err }, 'status publisher lost its connection; another worker may take over');
    conn?.release(true); // closing the session gives up the lock
    conn = null;
  };

  async function lead(): Promise<pg.PoolClient | null> {
    if (conn) return conn;
    // Its pool gives each connection an error listener (survivingConnectionErrors): a broken one is
    // noticed by the next query, which drops it.
    const c = await db.$client.connect();
    const won = await tryPublisherLock(c, o.host).catch(() => null);
    if (won && !stopped) {
      o.log.info({ host: o.host }, 'publishing host status');
      conn = c;
      return c;
    }
    c.release(won !== false); // a broken connection, or a lock won too late: closed, not pooled
    return null;
  }

  async function tick(): Promise<void> {
    try {
      const c = await lead();
      const sample = c && !stopped ? await publishOnce(c, o) : null;
      if (sample) await o.onSample?.(sample);
    } catch (err) {
      drop(err);
    }
  }

  // A slow sample (a hung supervisorctl) delays the next one instead of piling up behind it.
  const sample = () => {
    busy ??= tick().finally(() => {
      busy = null;
    });
  };
  const timer = setInterval(sample, o.intervalMs);
  timer.unref();
  sample();

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      // A probe may wait on a hung supervisorctl for its whole timeout: a stopping worker does not.
      await Promise.race([busy, sleep(STOP_WAIT_MS)]);
      if (conn && !busy) await releasePublisherLock(conn, o.host).catch(() => {});
      drop();
    },
  };
}
