import { describe, expect, it } from 'vitest';
import type { DetectionCoverage } from '../../domain/finding';
import { LEDGER_ENGINES } from '../support/ledger-db';
import { useLedgerOn } from '../support/ledger-hooks';

const partial: DetectionCoverage = {
  coveredTypes: 5,
  totalTypes: 6,
  coveredResources: 40,
  totalResources: 48,
  uncoveredTypes: ['aws_lambda_function'],
};
const t0 = new Date('2026-12-01T10:00:00Z');
const at = (h: number) => new Date(t0.getTime() + h * 3_600_000);

describe.each(LEDGER_ENGINES)('detection records in the ledger: coverage ($engine)', (engine) => {
  const h = useLedgerOn(engine, { truncate: ['unit_detection', 'detection_attempts'] });

  it('stores the coverage of a success, keeps it through failures, and drops it on a success without one', async () => {
    const store = h.ledger.detection;
    const ok = await store.record('acme-prod-account', { status: 'ok', coverage: partial }, t0);
    expect(ok).toMatchObject({ lastResult: 'ok', coverage: partial, coverageAt: t0.toISOString() });
    expect(await store.read('acme-prod-account')).toEqual(ok);
    // Stored as jsonb, not as text: other readers (the dashboard, budgets) query into it.
    const [row] = await h.ledger.db.query<{ kind: string; uncovered: string }>(
      "SELECT jsonb_typeof(coverage) AS kind, coverage->'uncoveredTypes'->>0 AS uncovered FROM unit_detection WHERE unit = $1",
      ['acme-prod-account'],
    );
    expect(row).toEqual({ kind: 'object', uncovered: 'aws_lambda_function' });

    const failed = await store.record('acme-prod-account', { status: 'failed', error: 'AccessDenied' }, at(1));
    expect(failed).toMatchObject({
      lastResult: 'failed',
      coverage: partial,
      coverageAt: t0.toISOString(),
      consecutiveFailures: 1,
    });

    const full = await store.record('acme-prod-account', { status: 'ok' }, at(2));
    expect(full.coverage).toBeUndefined();
    expect(full.coverageAt).toBeUndefined();
    expect(await store.read('acme-prod-account')).toEqual(full);
    expect(full).toMatchObject({ lastSuccessAt: at(2).toISOString(), lastError: 'AccessDenied', lastErrorAt: at(1).toISOString() });
  });

  it('a newer coverage replaces the older one', async () => {
    const store = h.ledger.detection;
    await store.record('u', { status: 'ok', coverage: partial }, t0);
    const better = { ...partial, coveredTypes: 6, coveredResources: 48, uncoveredTypes: [] };
    expect(await store.record('u', { status: 'ok', coverage: better }, at(1))).toMatchObject({ coverage: better, coverageAt: at(1).toISOString() });
  });

  it('reads rows that carry no coverage (written by a rebuild, or before coverage existed)', async () => {
    await h.ledger.db.query(
      "INSERT INTO unit_detection (unit, first_seen_at, last_attempt_at, last_result, last_success_at, consecutive_failures) VALUES ('u', $1, $1, 'ok', $1, 0)",
      [t0.toISOString()],
    );
    const old = {
      unit: 'u',
      firstSeenAt: t0.toISOString(),
      lastAttemptAt: t0.toISOString(),
      lastResult: 'ok',
      lastSuccessAt: t0.toISOString(),
      consecutiveFailures: 0,
    };
    expect(await h.ledger.detection.read('u')).toEqual(old);
    const next = await h.ledger.detection.record('u', { status: 'ok', coverage: partial }, at(1));
    expect(next).toMatchObject({ firstSeenAt: t0.toISOString(), coverage: partial });
  });
});
