/**
 * Times as people read them: "3 min ago" or "in 2 h", with the exact UTC time on hover. Rendered
 * on the server against the request's clock, so a page needs no script to show them.
 */

const UNITS: [limitSec: number, perUnitSec: number, unit: string][] = [
  [60, 1, 's'],
  [3_600, 60, 'min'],
  [86_400, 3_600, 'h'],
  [86_400 * 60, 86_400, 'd'],
];

/** "2026-11-24 08:30:12 UTC" */
export const exactUtc = (d: Date): string => `${d.toISOString().replace('T', ' ').slice(0, 19)} UTC`;

/** "just now", "3 min ago", "in 2 h", or the UTC date for anything beyond two months. */
export function relativeTime(d: Date, now: Date = new Date()): string {
  const diffSec = Math.round((d.getTime() - now.getTime()) / 1000);
  const abs = Math.abs(diffSec);
  if (abs < 5) return 'just now';
  const scale = UNITS.find(([limit]) => abs < limit);
  if (!scale) return exactUtc(d).slice(0, 10);
  const n = Math.floor(abs / scale[1]);
  return diffSec < 0 ? `${n} ${scale[2]} ago` : `in ${n} ${scale[2]}`;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** A date as a `<time>` that reads relatively and shows the exact UTC time on hover; `empty` when there is none. */
export function Time({ at, empty = '—', now }: { at: Date | string | null | undefined; empty?: string; now?: Date }) {
  if (!at) return <>{empty}</>;
  // Only ISO strings are read as times: Date would guess a year for "Nov 24 08:30:12" (a log's own format).
  if (typeof at === 'string' && !ISO_TIME.test(at)) return <>{at}</>;
  const d = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(d.getTime())) return <>{empty}</>;
  return (
    <time datetime={d.toISOString()} title={exactUtc(d)}>
      {relativeTime(d, now)}
    </time>
  );
}

/** "1.2 s", "3 min 4 s", "2 h 5 min": how long something took. */
export function duration(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3_600) return s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`;
  const m = Math.round(s / 60);
  return m % 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m / 60} h`;
}
