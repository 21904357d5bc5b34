import path from 'node:path';
import { z } from 'zod';
import { DetectionCoverageSchema, type DetectionCoverage } from '../../domain/finding';
import { backoff, errnoOf, ensureDir, linkIfAbsent, nodeFileOps, serialized, tempNameFor, writeDurably, type FileOps } from '../../evidence/durable-file';

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
  /**
   * What the last successful detection that reported a coverage could see (types and resources
   * it reads against all present). Kept across failed attempts; dropped by a success that reports
   * none (it saw everything). Absent in records written before coverage existed.
   */
  coverage: DetectionCoverageSchema.optional(),
  /** When {@link coverage} was measured. */
  coverageAt: z.iso.datetime().optional(),
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

/** A detection record could not be written (full disk, I/O error, a lock never freed). Retryable. */
export class DetectionStatusWriteFailed extends Error {
  override readonly name = 'DetectionStatusWriteFailed';
  constructor(
    readonly file: string,
    override readonly cause: unknown,
  ) {
    super(`could not write detection record ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** What a detection status store can be given besides its folder. */
export interface DetectionStatusStoreOptions {
  /** File-system calls (default: the real ones); tests inject failures here. */
  fs?: FileOps;
  /** A unit's lock untouched for this long is taken to belong to a writer that died (default 30 s). */
  staleLockMs?: number;
}

/** A held lock: its path, and what identifies the file this writer created there. */
interface HeldLock {
  path: string;
  ino: number;
  mtimeMs: number;
}

/** A file name for a unit: unit names are registry names, but never trust them as paths. */
const fileNameOf = (unit: string): string => `${unit.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;

/**
 * Durable record of each unit's detections, one JSON file per unit under `dir` (the worker's
 * `$DRIFTPLANE_HOME/detection`). Written by the scan activity after every attempt, read by the
 * staleness sweep. Production with several workers would put this in a shared store; the shape
 * stays the same.
 *
 * `record` and `noteSeen` read, change and write a unit's record, so no update may be lost when
 * several run at once:
 * - Within a process they run one after another per unit (a queue per record file).
 * - Across processes each holds the unit's lock, `.<unit>.json.lock`, created with O_EXCL (`wx`)
 *   for the read-modify-write and removed after it. A writer that finds the lock waits.
 * - A lock older than `staleLockMs` belonged to a writer that died: it is renamed away (only one
 *   waiter's rename can succeed) and, if what was renamed is not the lock judged stale, put back.
 *   Before it commits, a holder checks that the lock is still the file it created; if it was
 *   taken over (the holder stalled for longer than `staleLockMs`), it fails retryably instead of
 *   overwriting. Reads take no lock: a record file is only ever replaced whole.
 * - The record is written to a temp name of its own, fsynced, renamed over the old one and the
 *   folder fsynced (see `writeDurably`); a temp or lock file left by a failure never blocks a
 *   later write for longer than `staleLockMs`.
 * A write that fails throws `DetectionStatusWriteFailed`: retryable, the next attempt starts afresh.
 */
export class DetectionStatusStore {
  private readonly fs: FileOps;
  private readonly staleLockMs: number;

  constructor(
    readonly dir: string,
    options: DetectionStatusStoreOptions = {},
  ) {
    this.fs = options.fs ?? nodeFileOps;
    this.staleLockMs = options.staleLockMs ?? 30_000;
  }

  /** The record of one unit, or undefined when it was never attempted. */
  async read(unit: string): Promise<DetectionStatus | undefined> {
    const file = path.join(this.dir, fileNameOf(unit));
    let text: string;
    try {
      text = await this.fs.readFile(file, 'utf8');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
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
    const names = await this.fs.readdir(this.dir).catch(() => [] as string[]);
    const out: DetectionStatus[] = [];
    for (const n of names.filter((x) => x.endsWith('.json')).sort()) {
      const record = await this.read(n.slice(0, -'.json'.length));
      if (record) out.push(record);
    }
    return out;
  }

  /**
   * Records one attempt: a success moves `lastSuccessAt` and stores its `coverage` (a success
   * without one saw every resource type, so an older coverage is dropped); a failure keeps both
   * and records the error.
   */
  async record(unit: string, result: { status: 'ok'; coverage?: DetectionCoverage } | { status: 'failed'; error: string }, at: Date): Promise<DetectionStatus> {
    return this.update(unit, async () => {
      const previous = await this.read(unit).catch(() => undefined);
      const iso = at.toISOString();
      const record: DetectionStatus =
        result.status === 'ok'
          ? {
              unit,
              firstSeenAt: previous?.firstSeenAt ?? iso,
              lastAttemptAt: iso,
              lastResult: 'ok',
              lastSuccessAt: iso,
              ...(previous?.lastError ? { lastError: previous.lastError, lastErrorAt: previous.lastErrorAt } : {}),
              consecutiveFailures: 0,
              ...(result.coverage ? { coverage: result.coverage, coverageAt: iso } : {}),
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
              // What the last success could see still holds as far as anyone knows.
              ...(previous?.coverage ? { coverage: previous.coverage, ...(previous.coverageAt ? { coverageAt: previous.coverageAt } : {}) } : {}),
            };
      return { record, changed: true };
    });
  }

  /**
   * Notes that a unit exists before any detection of it: its clock starts now. Does nothing for a
   * unit that already has a record. Returns the record as stored.
   */
  async noteSeen(unit: string, at: Date): Promise<DetectionStatus> {
    const previous = await this.read(unit);
    if (previous) return previous;
    return this.update(unit, async () => {
      // Read again under the lock: another writer may have recorded the unit since.
      const now = await this.read(unit);
      return now ? { record: now, changed: false } : { record: { unit, firstSeenAt: at.toISOString(), consecutiveFailures: 0 }, changed: true };
    });
  }

  /** Runs one read-modify-write of a unit's record under its queue and its lock; stores the record `change` returns as changed. */
  private update(unit: string, change: () => Promise<{ record: DetectionStatus; changed: boolean }>): Promise<DetectionStatus> {
    const file = path.join(this.dir, fileNameOf(unit));
    return serialized(path.resolve(file), async () => {
      const lock = await this.lock(file);
      try {
        const { record, changed } = await change();
        if (!changed) return record;
        await this.checkStillHeld(lock, file);
        await writeDurably(file, `${JSON.stringify(record, null, 2)}\n`, { fs: this.fs }).catch((err: unknown) => {
          throw new DetectionStatusWriteFailed(file, err);
        });
        return record;
      } finally {
        await this.unlock(lock);
      }
    });
  }

  /** Creates the unit's lock file exclusively, waiting for a live holder and taking over a dead one. */
  private async lock(file: string): Promise<HeldLock> {
    const lockPath = path.join(path.dirname(file), `.${path.basename(file)}.lock`);
    const fail = (cause: unknown) => new DetectionStatusWriteFailed(file, cause);
    await ensureDir(this.dir, this.fs).catch((err: unknown) => {
      throw fail(err);
    });
    // A lock never becomes stale when its mtime lies in the future (clocks apart): give up then.
    const deadline = Date.now() + 3 * this.staleLockMs;
    for (let attempt = 0; ; attempt++) {
      try {
        // Not fsynced: after a power cut no writer holds it, and a lock that survives one goes stale.
        await (await this.fs.open(lockPath, 'wx')).close();
        const { ino, mtimeMs } = await this.fs.stat(lockPath);
        return { path: lockPath, ino, mtimeMs };
      } catch (err) {
        if (errnoOf(err) !== 'EEXIST') throw fail(err);
      }
      const held = await this.fs.stat(lockPath).catch((err: unknown) => {
        if (errnoOf(err) === 'ENOENT') return undefined;
        throw fail(err);
      });
      if (held && Date.now() - held.mtimeMs > this.staleLockMs) {
        await this.breakStaleLock(lockPath, held).catch((err: unknown) => {
          throw fail(err);
        });
      } else if (held) {
        if (Date.now() > deadline) throw fail(new Error(`${lockPath} held by another writer for longer than ${3 * this.staleLockMs} ms`));
        await backoff(Math.min(50, 2 ** attempt));
      }
    }
  }

  /**
   * Removes a lock judged stale. rename() moves one file only once, so of several waiters that
   * judged it stale one succeeds; if the file it moved is not the one judged stale (another waiter
   * took over and created a fresh lock in between), the fresh lock is put back.
   */
  private async breakStaleLock(lockPath: string, stale: { ino: number; mtimeMs: number }): Promise<void> {
    const grave = tempNameFor(lockPath);
    try {
      await this.fs.rename(lockPath, grave);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return;
      throw err;
    }
    const moved = await this.fs.stat(grave);
    if (moved.ino !== stale.ino || moved.mtimeMs !== stale.mtimeMs) await linkIfAbsent(grave, lockPath, this.fs);
    await this.fs.unlink(grave).catch(() => undefined);
  }

  /** Fails (retryably) when the lock is no longer the file this writer created: it was taken over. */
  private async checkStillHeld(lock: HeldLock, file: string): Promise<void> {
    const now = await this.fs.stat(lock.path).catch(() => undefined);
    if (now?.ino !== lock.ino || now.mtimeMs !== lock.mtimeMs) {
      throw new DetectionStatusWriteFailed(file, new Error(`lost ${lock.path}: held for longer than ${this.staleLockMs} ms and taken over`));
    }
  }

  /** Removes the lock if it is still ours; one that cannot be removed goes stale and is taken over. */
  private async unlock(lock: HeldLock): Promise<void> {
    const now = await this.fs.stat(lock.path).catch(() => undefined);
    if (now?.ino === lock.ino && now.mtimeMs === lock.mtimeMs) await this.fs.unlink(lock.path).catch(() => undefined);
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
