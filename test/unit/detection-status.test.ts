import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DetectionStatusError, DetectionStatusStore, isOverdue } from '../../activities/scan/detection-status';
import { DriftObservationSchema, staleObservation } from '../../domain/finding';

const hour = 3_600_000;

describe('detection status store and overdue rule', () => {
  it('keeps the last success across failures and counts consecutive failures', async () => {
    const store = new DetectionStatusStore(await mkdtemp(path.join(os.tmpdir(), 'dp-status-')));
    const t0 = new Date('2026-07-01T10:00:00Z');
    await store.record('u', { status: 'ok' }, t0);
    await store.record('u', { status: 'failed', error: 'AccessDenied' }, new Date(t0.getTime() + hour));
    const s = await store.record('u', { status: 'failed', error: 'AccessDenied again' }, new Date(t0.getTime() + 2 * hour));
    expect(s).toMatchObject({ lastResult: 'failed', lastSuccessAt: t0.toISOString(), consecutiveFailures: 2, lastError: 'AccessDenied again' });
    expect(await store.read('u')).toEqual(s);
    expect((await store.list()).map((x) => x.unit)).toEqual(['u']);
  });

  it.each([
    ['no record at all (lost)', undefined, hour, true],
    ['fresh', { lastSuccessAt: '2026-07-01T09:30:00.000Z' }, hour, false],
    ['older than the interval', { lastSuccessAt: '2026-07-01T08:59:00.000Z' }, hour, true],
    ['cron-scheduled (no interval)', undefined, undefined, false],
  ] as const)('%s', (_name, status, interval, overdue) => {
    const record = status ? { unit: 'u', lastAttemptAt: status.lastSuccessAt, lastResult: 'ok' as const, consecutiveFailures: 0, ...status } : undefined;
    expect(isOverdue(record, interval, new Date('2026-07-01T10:00:00Z'))).toBe(overdue);
  });

  it.each([
    ['seen 30 min ago, never detected', '2026-07-01T09:30:00.000Z', false],
    ['seen 2 h ago, never detected', '2026-07-01T08:00:00.000Z', true],
  ] as const)('a unit %s: overdue only once its interval has passed since first seen', (_name, firstSeenAt, overdue) => {
    expect(isOverdue({ unit: 'u', firstSeenAt, consecutiveFailures: 0 }, hour, new Date('2026-07-01T10:00:00Z'))).toBe(overdue);
  });

  it('notes a new unit once and keeps its first-seen time through later attempts', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dp-status-'));
    const store = new DetectionStatusStore(dir);
    const seen = await store.noteSeen('u', new Date('2026-07-01T09:00:00Z'));
    expect(seen).toEqual({ unit: 'u', firstSeenAt: '2026-07-01T09:00:00.000Z', consecutiveFailures: 0 });
    expect(await store.noteSeen('u', new Date('2026-07-01T09:30:00Z'))).toEqual(seen);
    const failed = await store.record('u', { status: 'failed', error: 'AccessDenied' }, new Date('2026-07-01T09:45:00Z'));
    expect(failed.firstSeenAt).toBe('2026-07-01T09:00:00.000Z');
    expect(isOverdue(failed, hour, new Date('2026-07-01T10:01:00Z'))).toBe(true);
  });

  it('refuses a corrupt record instead of reading it as fresh', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dp-status-'));
    await writeFile(path.join(dir, 'u.json'), '{"unit":"u"}');
    await expect(new DetectionStatusStore(dir).read('u')).rejects.toBeInstanceOf(DetectionStatusError);
  });

  it('builds a valid stale observation whose fingerprint does not depend on failed vs overdue', () => {
    const a = staleObservation({ unit: 'u', status: 'failed', error: 'x', detectedAt: '2026-07-01T10:00:00.000Z', detector: 'unit-scan' });
    const b = staleObservation({ unit: 'u', status: 'overdue', detectedAt: '2026-07-01T11:00:00.000Z', detector: 'staleness-sweep' });
    expect(DriftObservationSchema.parse(a)).toEqual(a);
    expect([a.resourceRef, a.changedFields]).toEqual([b.resourceRef, b.changedFields]);
    expect(a.resourceRef).toBe('unit/u');
  });
});
