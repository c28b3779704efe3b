import { describe, expect, it } from 'vitest';
import { duration, exactUtc, relativeTime, Time } from '../views/time.tsx';

const now = new Date('2026-11-24T08:30:12Z');
const ago = (sec: number) => new Date(now.getTime() - sec * 1000);

describe('relative times with the exact UTC time on hover', () => {
  it('reads as people say it, in the past and the future', () => {
    expect(relativeTime(ago(2), now)).toBe('just now');
    expect(relativeTime(ago(42), now)).toBe('42 s ago');
    expect(relativeTime(ago(3 * 60 + 20), now)).toBe('3 min ago');
    expect(relativeTime(ago(-2 * 3600 - 59), now)).toBe('in 2 h');
    expect(relativeTime(ago(26 * 3600), now)).toBe('1 d ago');
    expect(relativeTime(ago(-10 * 86_400), now)).toBe('in 10 d');
    expect(relativeTime(ago(90 * 86_400), now)).toBe('2026-08-26');
  });

  it('renders a <time> with the ISO datetime and the exact UTC time as its title', () => {
    expect(exactUtc(now)).toBe('2026-11-24 08:30:12 UTC');
    expect(String(<Time at={ago(180)} now={now} />)).toBe(
      '<time datetime="2026-11-24T08:27:12.000Z" title="2026-11-24 08:27:12 UTC">3 min ago</time>',
    );
    expect(String(<Time at="2026-11-24T06:30:12Z" now={now} />)).toContain('>2 h ago</time>');
    expect(String(<Time at={null} />)).toBe('—');
    expect(String(<Time at={null} empty="never" />)).toBe('never');
    expect(String(<Time at="Nov 24 08:30:12" />)).toBe('Nov 24 08:30:12');
  });

  it('says how long something took', () => {
    expect(duration(1234)).toBe('1.2 s');
    expect(duration(72_000)).toBe('1 min 12 s');
    expect(duration(45_000)).toBe('45 s');
    expect(duration(120_000)).toBe('2 min');
    expect(duration(2 * 3_600_000 + 5 * 60_000)).toBe('2 h 5 min');
  });
});
