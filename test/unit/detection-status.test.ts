import { describe, expect, it } from 'vitest';
import { DetectionStatusError, isOverdue, MAX_DETECTION_ERROR } from '../../ledger/detection';
import { DriftObservationSchema, staleObservation } from '../../domain/finding';
import { LEDGER_ENGINES } from '../support/ledger-db';
import { useLedgerOn } from '../support/ledger-hooks';

const hour = 3_600_000;

describe.each(LEDGER_ENGINES)('detection records in the ledger ($engine)', (engine) => {
  const h = useLedgerOn(engine, { truncate: ['unit_detection', 'detection_attempts'] });

  it('keeps the last success across failures, counts consecutive failures, and logs each attempt', async () => {
    const store = h.ledger.detection;
    const t0 = new Date('2026-07-01T10:00:00Z');
    const ok = await store.record('u', { status: 'ok' }, t0);
    expect(ok).toEqual({
      unit: 'u',
      firstSeenAt: '2026-07-01T10:00:00.000Z',
      lastAttemptAt: '2026-07-01T10:00:00.000Z',
      lastResult: 'ok',
      lastSuccessAt: '2026-07-01T10:00:00.000Z',
      consecutiveFailures: 0,
    });
    await store.record('u', { status: 'failed', error: 'AccessDenied' }, new Date(t0.getTime() + hour));
    const s = await store.record('u', { status: 'failed', error: 'AccessDenied again' }, new Date(t0.getTime() + 2 * hour));
    expect(s).toEqual({
      unit: 'u',
      firstSeenAt: '2026-07-01T10:00:00.000Z',
      lastAttemptAt: '2026-07-01T12:00:00.000Z',
      lastResult: 'failed',
      lastSuccessAt: '2026-07-01T10:00:00.000Z',
      lastErrorAt: '2026-07-01T12:00:00.000Z',
      lastError: 'AccessDenied again',
      consecutiveFailures: 2,
    });
    expect(await store.read('u')).toEqual(s);
    expect(await store.list()).toEqual([s]);
    const attempts = await h.ledger.db.query<{ at: Date; result: string; error: string | null }>('SELECT at, result, error FROM detection_attempts WHERE unit = $1 ORDER BY at', ['u']);
    expect(attempts.map((a) => [a.at.toISOString(), a.result, a.error])).toEqual([
      ['2026-07-01T10:00:00.000Z', 'ok', null],
      ['2026-07-01T11:00:00.000Z', 'failed', 'AccessDenied'],
      ['2026-07-01T12:00:00.000Z', 'failed', 'AccessDenied again'],
    ]);
  });

  it('a success resets the failures and keeps the last error; an error is cut to 500 characters', async () => {
    const store = h.ledger.detection;
    const long = `AccessDenied ${'x'.repeat(600)}`;
    const failed = await store.record('u', { status: 'failed', error: long }, new Date('2026-07-01T10:00:00Z'));
    expect(failed.lastError).toHaveLength(MAX_DETECTION_ERROR);
    expect(failed.lastError).toBe(long.slice(0, 500));
    expect(failed.lastSuccessAt).toBeUndefined();
    const ok = await store.record('u', { status: 'ok' }, new Date('2026-07-01T11:00:00Z'));
    expect(ok).toEqual({
      unit: 'u',
      firstSeenAt: '2026-07-01T10:00:00.000Z',
      lastAttemptAt: '2026-07-01T11:00:00.000Z',
      lastResult: 'ok',
      lastSuccessAt: '2026-07-01T11:00:00.000Z',
      lastErrorAt: '2026-07-01T10:00:00.000Z',
      lastError: long.slice(0, 500),
      consecutiveFailures: 0,
    });
  });

  it('notes a new unit once and keeps its first-seen time through later attempts', async () => {
    const store = h.ledger.detection;
    expect(await store.read('u')).toBeUndefined();
    const seen = await store.noteSeen('u', new Date('2026-07-01T09:00:00Z'));
    expect(seen).toEqual({ unit: 'u', firstSeenAt: '2026-07-01T09:00:00.000Z', consecutiveFailures: 0 });
    expect(await store.noteSeen('u', new Date('2026-07-01T09:30:00Z'))).toEqual(seen);
    const failed = await store.record('u', { status: 'failed', error: 'AccessDenied' }, new Date('2026-07-01T09:45:00Z'));
    expect(failed).toMatchObject({ firstSeenAt: '2026-07-01T09:00:00.000Z', consecutiveFailures: 1 });
    expect(isOverdue(failed, hour, new Date('2026-07-01T10:01:00Z'))).toBe(true);
    // noteSeen of a unit already attempted changes nothing.
    expect(await store.noteSeen('u', new Date('2026-07-01T09:50:00Z'))).toEqual(failed);
  });

  it('lists units by name in byte order on both engines', async () => {
    const at = new Date('2026-07-01T10:00:00Z');
    for (const unit of ['b-unit', 'B-unit', 'a_unit', 'a-unit']) await h.ledger.detection.record(unit, { status: 'ok' }, at);
    expect((await h.ledger.detection.list()).map((s) => s.unit)).toEqual(['B-unit', 'a-unit', 'a_unit', 'b-unit']);
  });

  it('refuses a row that is not a detection record instead of reading it as fresh', async () => {
    await h.ledger.detection.record('good', { status: 'ok' }, new Date('2026-07-01T10:00:00Z'));
    await h.ledger.db.query("INSERT INTO unit_detection (unit, last_result, last_success_at, consecutive_failures) VALUES ('u', 'maybe', now(), 0)");
    const err: unknown = await h.ledger.detection.read('u').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DetectionStatusError);
    expect((err as DetectionStatusError).unit).toBe('u');
    expect((err as Error).message).toMatch(/^unit_detection row of u: lastResult: /);
    await expect(h.ledger.detection.list()).rejects.toBeInstanceOf(DetectionStatusError);
    const listing = await h.ledger.detection.listReadable();
    expect(listing.records.map((r) => r.unit)).toEqual(['good']);
    expect(listing.unreadable).toEqual([{ unit: 'u', problem: expect.stringMatching(/^lastResult: /) }]);
  });
});

describe('the overdue rule', () => {
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

  it('builds a valid stale observation whose fingerprint does not depend on failed vs overdue', () => {
    const a = staleObservation({ unit: 'u', status: 'failed', error: 'x', detectedAt: '2026-07-01T10:00:00.000Z', detector: 'unit-scan' });
    const b = staleObservation({ unit: 'u', status: 'overdue', detectedAt: '2026-07-01T11:00:00.000Z', detector: 'staleness-sweep' });
    expect(DriftObservationSchema.parse(a)).toEqual(a);
    expect([a.resourceRef, a.changedFields]).toEqual([b.resourceRef, b.changedFields]);
    expect(a.resourceRef).toBe('unit/u');
  });
});
