/** How the dashboard words numbers, durations and instants (pure; shared by every view). */

const UNITS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/**
 * A duration for people: the two largest units, `3d 4h`, `1h 5m`, `42s`; under a second `0.4s`;
 * `—` when unknown.
 */
export function humanDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 0) return `-${humanDuration(-ms)}`;
  if (ms < 1_000) return `${(Math.round(ms / 100) / 10).toString()}s`;
  const secs = Math.round(ms / 1_000) * 1_000;
  const i = UNITS.findIndex(([, size]) => secs >= size);
  const [unit, size] = UNITS[i] as [string, number];
  const parts = [`${Math.floor(secs / size)}${unit}`];
  const next = UNITS[i + 1];
  if (next) {
    const n = Math.floor((secs % size) / next[1]);
    if (n > 0) parts.push(`${n}${next[0]}`);
  }
  return parts.join(' ');
}

/** A fraction 0..1 as a whole percentage (`87%`), one decimal below 10 % (`4.5%`). */
export function percent(fraction: number): string {
  const p = fraction * 100;
  return `${p > 0 && p < 10 ? (Math.round(p * 10) / 10).toString() : Math.round(p).toString()}%`;
}

/** An instant in UTC, minute precision: `2026-12-03 21:07 UTC`. */
export function utc(at: Date | string | undefined): string {
  if (at === undefined) return '—';
  const d = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** How long ago, in words: `3h 5m ago`. */
export function ago(at: Date | undefined, now: Date): string {
  return at === undefined ? 'never' : `${humanDuration(now.getTime() - at.getTime())} ago`;
}
