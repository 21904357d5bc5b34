/** How long an S3 store keeps records under Object Lock when the unit names no retention. */
export const DEFAULT_RETENTION = '400d';

const RETENTION = /^([1-9]\d*)(d|w|m|y)$/;

/** A retention that is not `<n>d`, `<n>w`, `<n>m` or `<n>y`. */
export class RetentionError extends Error {
  override readonly name = 'RetentionError';
}

/**
 * The instant until which an object written at `from` is retained: `from` plus the retention
 * (`400d`, `6w`, `18m` months, `7y`; the registry's RetentionSchema), in UTC calendar months and
 * years. A month end rolls over (31 January + 1m is 3 March), so an object is never kept for less
 * than the period.
 */
export function retainUntil(from: Date, retention: string): Date {
  const m = RETENTION.exec(retention);
  if (!m) throw new RetentionError(`retention "${retention}" is not a period such as 400d, 6w, 18m or 7y`);
  const n = Number(m[1]);
  const d = new Date(from.getTime());
  if (m[2] === 'd') d.setUTCDate(d.getUTCDate() + n);
  else if (m[2] === 'w') d.setUTCDate(d.getUTCDate() + 7 * n);
  else if (m[2] === 'm') d.setUTCMonth(d.getUTCMonth() + n);
  else d.setUTCFullYear(d.getUTCFullYear() + n);
  return d;
}

/** The longer of two retentions, compared from the same instant. */
export function longerRetention(a: string, b: string, from = new Date()): string {
  return retainUntil(from, a).getTime() >= retainUntil(from, b).getTime() ? a : b;
}
