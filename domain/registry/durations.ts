import type { RiskTier } from './schemas';

const unitMs: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Milliseconds of a duration such as `15m`, `6h` or `7d` (as accepted by DurationSchema); undefined when malformed. */
export function parseDuration(duration: string): number | undefined {
  const m = /^([1-9]\d*)(s|m|h|d|w)$/.exec(duration);
  if (!m) return undefined;
  return Number(m[1]) * (unitMs[m[2] as string] as number);
}

/** Milliseconds of a schedule frequency (`hourly`, `daily`, `weekly` or a duration); undefined for anything else. */
export function parseFrequency(frequency: string): number | undefined {
  if (frequency === 'hourly') return unitMs.h;
  if (frequency === 'daily') return unitMs.d;
  if (frequency === 'weekly') return unitMs.w;
  return parseDuration(frequency);
}

/** The instant of an ISO date (00:00 UTC) or date-time; undefined when unparsable. */
export function parseInstant(value: string): Date | undefined {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Default detection interval per risk tier, used when a unit has no schedule (detection frequency maps to risk tier). */
export const defaultDetectionIntervalMs: Record<RiskTier, number> = {
  critical: 15 * 60_000,
  high: 60 * 60_000,
  standard: 6 * 60 * 60_000,
  low: 24 * 60 * 60_000,
};

/** One day in milliseconds. */
export const dayMs = unitMs.d as number;
