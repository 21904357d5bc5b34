import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/** One unit's detection record: the last attempt, the last success and the last error. */
export const DetectionStatusSchema = z.object({
  unit: z.string().min(1),
  /** When driftplane first knew the unit (its first attempt, or the first sweep that saw it). */
  firstSeenAt: z.iso.datetime().optional(),
  /** Absent until the first attempt: the sweep may have only noted the unit. */
  lastAttemptAt: z.iso.datetime().optional(),
  lastResult: z.enum(['ok', 'failed']).optional(),
  lastSuccessAt: z.iso.datetime().optional(),
  lastErrorAt: z.iso.datetime().optional(),
  lastError: z.string().optional(),
  /** Failed attempts since the last success. */
  consecutiveFailures: z.number().int().nonnegative(),
});
/** One unit's detection record. */
export type DetectionStatus = z.infer<typeof DetectionStatusSchema>;

/** A detection record file that is not what the store wrote: never read as "fresh". */
export class DetectionStatusError extends Error {
  override readonly name = 'DetectionStatusError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** A file name for a unit: unit names are registry names, but never trust them as paths. */
const fileNameOf = (unit: string): string => `${unit.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;

/**
 * Durable record of each unit's detections, one JSON file per unit under `dir` (the worker's
 * `$DRIFTPLANE_HOME/detection`). Written by the scan activity after every attempt (atomically:
 * temp file, then rename), read by the staleness sweep. Production with several workers would
 * put this in a shared store; the shape stays the same.
 */
export class DetectionStatusStore {
  constructor(readonly dir: string) {}

  /** The record of one unit, or undefined when it was never attempted. */
  async read(unit: string): Promise<DetectionStatus | undefined> {
    const file = path.join(this.dir, fileNameOf(unit));
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new DetectionStatusError(file, `not valid JSON: ${(err as Error).message}`);
    }
    const parsed = DetectionStatusSchema.safeParse(json);
    if (!parsed.success) throw new DetectionStatusError(file, `not a detection record: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return parsed.data;
  }

  /** Every recorded unit. */
  async list(): Promise<DetectionStatus[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: DetectionStatus[] = [];
    for (const n of names.filter((x) => x.endsWith('.json')).sort()) {
      const record = await this.read(n.slice(0, -'.json'.length));
      if (record) out.push(record);
    }
    return out;
  }

  /** Records one attempt: a success moves `lastSuccessAt`; a failure keeps it and records the error. */
  async record(unit: string, result: { status: 'ok' } | { status: 'failed'; error: string }, at: Date): Promise<DetectionStatus> {
    const previous = await this.read(unit).catch(() => undefined);
    const iso = at.toISOString();
    const next: DetectionStatus =
      result.status === 'ok'
        ? {
            unit,
            firstSeenAt: previous?.firstSeenAt ?? iso,
            lastAttemptAt: iso,
            lastResult: 'ok',
            lastSuccessAt: iso,
            ...(previous?.lastError ? { lastError: previous.lastError, lastErrorAt: previous.lastErrorAt } : {}),
            consecutiveFailures: 0,
          }
        : {
            unit,
            firstSeenAt: previous?.firstSeenAt ?? iso,
            lastAttemptAt: iso,
            lastResult: 'failed',
            ...(previous?.lastSuccessAt ? { lastSuccessAt: previous.lastSuccessAt } : {}),
            lastErrorAt: iso,
            lastError: result.error.slice(0, 500),
            consecutiveFailures: (previous?.consecutiveFailures ?? 0) + 1,
          };
    await this.write(next);
    return next;
  }

  /**
   * Notes that a unit exists before any detection of it: its clock starts now. Does nothing for a
   * unit that already has a record. Returns the record as stored.
   */
  async noteSeen(unit: string, at: Date): Promise<DetectionStatus> {
    const previous = await this.read(unit);
    if (previous) return previous;
    const next: DetectionStatus = { unit, firstSeenAt: at.toISOString(), consecutiveFailures: 0 };
    await this.write(next);
    return next;
  }

  private async write(record: DetectionStatus): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = path.join(this.dir, fileNameOf(record.unit));
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`);
    await rename(tmp, file);
  }
}

/**
 * True when a unit is overdue: its last success is older than its interval, or it never succeeded
 * in the interval since driftplane first saw it. A unit with no record at all is overdue: the
 * sweep notes units first (see `noteSeen`), so an unnoted one means the record was lost.
 * Units without an interval (cron schedules) cannot be judged here and are never overdue.
 */
export function isOverdue(status: DetectionStatus | undefined, intervalMs: number | undefined, now: Date): boolean {
  if (intervalMs === undefined) return false;
  const since = status?.lastSuccessAt ?? status?.firstSeenAt;
  if (!since) return true;
  return now.getTime() - Date.parse(since) > intervalMs;
}
