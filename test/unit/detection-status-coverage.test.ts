import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DetectionStatusStore } from '../../activities/scan/detection-status';
import type { DetectionCoverage } from '../../domain/finding';

const partial: DetectionCoverage = {
  coveredTypes: 5,
  totalTypes: 6,
  coveredResources: 40,
  totalResources: 48,
  uncoveredTypes: ['aws_lambda_function'],
};
const t0 = new Date('2026-12-01T10:00:00Z');
const at = (h: number) => new Date(t0.getTime() + h * 3_600_000);

describe('detection status store: coverage', () => {
  it('stores the coverage of a success, keeps it through failures, and drops it on a success without one', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dp-status-cov-'));
    const store = new DetectionStatusStore(dir);
    const ok = await store.record('acme-prod-account', { status: 'ok', coverage: partial }, t0);
    expect(ok).toMatchObject({ lastResult: 'ok', coverage: partial, coverageAt: t0.toISOString() });
    // Round trip through the file.
    expect(await new DetectionStatusStore(dir).read('acme-prod-account')).toEqual(ok);
    expect(JSON.parse(await readFile(path.join(dir, 'acme-prod-account.json'), 'utf8')).coverage).toEqual(
      partial,
    );

    const failed = await store.record(
      'acme-prod-account',
      { status: 'failed', error: 'AccessDenied' },
      at(1),
    );
    expect(failed).toMatchObject({
      lastResult: 'failed',
      coverage: partial,
      coverageAt: t0.toISOString(),
      consecutiveFailures: 1,
    });

    const full = await store.record('acme-prod-account', { status: 'ok' }, at(2));
    expect(full.coverage).toBeUndefined();
    expect(full.coverageAt).toBeUndefined();
  });

  it('reads records written before coverage existed', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dp-status-cov-'));
    const old = {
      unit: 'u',
      firstSeenAt: t0.toISOString(),
      lastAttemptAt: t0.toISOString(),
      lastResult: 'ok',
      lastSuccessAt: t0.toISOString(),
      consecutiveFailures: 0,
    };
    await writeFile(path.join(dir, 'u.json'), JSON.stringify(old));
    const store = new DetectionStatusStore(dir);
    expect(await store.read('u')).toEqual(old);
    const next = await store.record('u', { status: 'ok', coverage: partial }, at(1));
    expect(next).toMatchObject({ firstSeenAt: t0.toISOString(), coverage: partial });
  });
});
