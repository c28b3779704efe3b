import { DISK_ALERT_PCT, DISK_WARN_PCT } from '../db/status-shapes.ts';
import { Time } from './time.tsx';
import type { HostCardView, MountFigures } from './types.ts';

const GIB = 1024 ** 3;
const gib = (bytes: number) => `${(bytes / GIB).toFixed(bytes < 10 * GIB ? 1 : 0)} GiB`;

export function duration(sec: number | null): string {
  if (sec === null) return '—';
  const d = Math.floor(sec / 86_400);
  const h = Math.floor((sec % 86_400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m ${sec % 60}s`;
}

const diskLevel = (pct: number) => (pct >= DISK_ALERT_PCT ? 'alert' : pct >= DISK_WARN_PCT ? 'warn' : 'ok');

function Mount({ m }: { m: MountFigures }) {
  const level = diskLevel(m.usedPct);
  return (
    <tr class={`disk-${level}`} data-mount={m.mount} data-level={level}>
      <td>
        <code>{m.mount}</code> <span class="muted">{m.fstype}</span>
      </td>
      <td>
        <meter min={0} max={100} low={DISK_WARN_PCT} high={DISK_ALERT_PCT} optimum={0} value={m.usedPct} /> {m.usedPct}%
      </td>
      <td class="muted">
        {gib(m.usedBytes)} of {gib(m.usedBytes + m.availableBytes)}
      </td>
    </tr>
  );
}

/** One host's disks, memory, load, uptime and failed units, or why there is nothing to show. */
export function HostCard({ h }: { h: HostCardView }) {
  const f = h.figures;
  return (
    <section class="card host-card" id={`host-${h.host}`} data-serving={String(h.serving)}>
      <h2>
        Host <code>{h.host}</code>
      </h2>
      {!h.serving && (
        <p class="error" data-no-worker>
          no worker is serving this host
          {h.updatedAt && (
            <span class="muted">
              {' '}
              (last figures <Time at={h.updatedAt} />)
            </span>
          )}
        </p>
      )}
      {f && (
        <>
          <dl>
            <dt>Memory</dt>
            <dd data-figure="memory">
              {f.memory
                ? `${gib(f.memory.totalBytes - f.memory.availableBytes)} used of ${gib(f.memory.totalBytes)}`
                : '—'}
            </dd>
            <dt>Load</dt>
            <dd data-figure="load">
              {f.load.map((l) => l.toFixed(2)).join(' ')} <span class="muted">({f.cpus} CPUs)</span>
            </dd>
            <dt>Uptime</dt>
            <dd data-figure="uptime">{duration(f.uptimeSec)}</dd>
            <dt>Failed units</dt>
            <dd data-figure="failed-units" class={f.failedUnits ? 'error' : ''}>
              {f.systemd ? (f.failedUnits ?? 'unknown') : 'no systemd'}
            </dd>
          </dl>
          <table class="disks">
            <tbody>
              {f.mounts.map((m) => (
                <Mount m={m} />
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
