import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DetectionStatusStore } from '../../activities/scan/detection-status';
import { coverageLines, readUnitCoverage } from '../../cli/commands/lifecycle';
import type { DetectionCoverage } from '../../domain/finding';

const at = new Date('2026-12-01T10:00:00Z');
const partial: DetectionCoverage = {
  coveredTypes: 5,
  totalTypes: 6,
  coveredResources: 40,
  totalResources: 48,
  uncoveredTypes: ['aws_lambda_function'],
};
const full: DetectionCoverage = {
  coveredTypes: 3,
  totalTypes: 3,
  coveredResources: 12,
  totalResources: 12,
  uncoveredTypes: [],
};

describe('driftplane findings: coverage per unit', () => {
  it('reads what the worker recorded and prints a line for each unit below 100 %', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dp-findings-cov-'));
    const store = new DetectionStatusStore(dir);
    await store.record('acme-prod-account', { status: 'ok', coverage: partial }, at);
    await store.record('network-prod', { status: 'ok', coverage: full }, at);
    await store.record('checkout-web', { status: 'ok' }, at);
    // A type that could not be listed: 100 % of the resources it counted, still not covered.
    await store.record(
      'sandbox-account',
      {
        status: 'ok',
        coverage: {
          coveredTypes: 1,
          totalTypes: 2,
          coveredResources: 4,
          totalResources: 4,
          uncoveredTypes: ['aws_iam_user'],
        },
      },
      at,
    );

    const { units, unreadable } = await readUnitCoverage(dir);
    expect(unreadable).toEqual([]);
    expect(units.map((u) => [u.unit, u.percent, u.full])).toEqual([
      ['acme-prod-account', 83.3, false],
      ['network-prod', 100, true],
      ['sandbox-account', 100, false],
    ]);
    expect(units[0]).toEqual({
      unit: 'acme-prod-account',
      ...partial,
      percent: 83.3,
      full: false,
      at: at.toISOString(),
    });
    expect(coverageLines(units)).toEqual([
      'coverage  acme-prod-account 83.3% (5/6 types, 40/48 resources); not covered: aws_lambda_function',
      'coverage  sandbox-account 100% (1/2 types, 4/4 resources); not covered: aws_iam_user',
    ]);
  });

  it('names records it cannot read instead of taking them for full coverage; no folder is no coverage', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dp-findings-cov-'));
    await writeFile(path.join(dir, 'broken.json'), '{"unit": ');
    await writeFile(path.join(dir, '.broken.json.lock'), '');
    expect(await readUnitCoverage(dir)).toEqual({ units: [], unreadable: ['broken.json'] });
    expect(await readUnitCoverage(path.join(dir, 'absent'))).toEqual({ units: [], unreadable: [] });
  });

  it('a unit name cannot paint the terminal', () => {
    const [line] = coverageLines([{ unit: 'evil\u001b[2J', ...partial, percent: 83.3, full: false }]);
    expect(line).not.toContain('\u001b');
    expect(line).toContain('83.3% (5/6 types, 40/48 resources)');
  });
});
