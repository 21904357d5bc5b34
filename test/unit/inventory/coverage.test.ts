import { describe, expect, it } from 'vitest';
import { coveragePercent, type DetectionCoverage } from '../../../domain/finding';
import {
  accountCoverage,
  coverageOf,
  describeCoverage,
  inventoryReportCoverage,
  isFullCoverage,
  stateCoverage,
} from '../../../domain/inventory/coverage';
import { findUnmanaged } from '../../../domain/inventory/compare';
import type { UnitInventoryReport } from '../../../domain/inventory/findings';
import { parseTfStateV4 } from '../../../domain/inventory/tfstate';

/** A recorded resource as parseTfStateV4 makes it, from one state resource. */
function recorded(type: string, name: string, attributes: Record<string, unknown>) {
  const state = { version: 4, resources: [{ mode: 'managed', type, name, instances: [{ attributes }] }] };
  return parseTfStateV4(state, 'test.tfstate');
}

describe('coverageOf', () => {
  it.each<[string, { type: string; covered: boolean }[], string[], DetectionCoverage]>([
    [
      'nothing at all',
      [],
      [],
      { coveredTypes: 0, totalTypes: 0, coveredResources: 0, totalResources: 0, uncoveredTypes: [] },
    ],
    [
      'all covered',
      [
        { type: 'aws_security_group', covered: true },
        { type: 'aws_security_group', covered: true },
        { type: 'aws_iam_role', covered: true },
      ],
      [],
      { coveredTypes: 2, totalTypes: 2, coveredResources: 3, totalResources: 3, uncoveredTypes: [] },
    ],
    [
      'one unsupported type among supported ones',
      [
        { type: 'aws_security_group', covered: true },
        { type: 'aws_lambda_function', covered: false },
        { type: 'aws_lambda_function', covered: false },
        { type: 'aws_iam_role', covered: true },
      ],
      [],
      {
        coveredTypes: 2,
        totalTypes: 3,
        coveredResources: 2,
        totalResources: 4,
        uncoveredTypes: ['aws_lambda_function'],
      },
    ],
    [
      'a type that could not be counted lowers the types, not the resources',
      [{ type: 'aws_security_group', covered: true }],
      ['aws_iam_user'],
      {
        coveredTypes: 1,
        totalTypes: 2,
        coveredResources: 1,
        totalResources: 1,
        uncoveredTypes: ['aws_iam_user'],
      },
    ],
  ])('%s', (_name, items, extra, expected) => {
    expect(coverageOf(items, extra)).toEqual(expected);
  });

  it('never reaches 100 % while a resource is uncovered (the percentage rounds down)', () => {
    const items = [
      ...Array.from({ length: 9999 }, () => ({ type: 'aws_iam_role', covered: true })),
      { type: 'aws_lambda_function', covered: false },
    ];
    const c = coverageOf(items);
    expect(coveragePercent(c)).toBe(99.9);
    expect(isFullCoverage(c)).toBe(false);
  });
});

describe('stateCoverage and inventoryReportCoverage', () => {
  const resources = [
    ...recorded('aws_security_group', 'app', { id: 'sg-1' }),
    ...recorded('aws_cloudwatch_log_group', 'app', { id: '/acme/app' }),
    ...recorded('aws_lambda_function', 'fn', { id: 'fn' }),
    ...recorded('aws_lambda_function', 'fn2', { id: 'fn2' }),
  ];

  it('counts state resources of unsupported types as uncovered', () => {
    expect(stateCoverage(resources)).toEqual({
      coveredTypes: 1,
      totalTypes: 3,
      coveredResources: 1,
      totalResources: 4,
      uncoveredTypes: ['aws_cloudwatch_log_group', 'aws_lambda_function'],
    });
  });

  it("takes a report's own coverage, and rebuilds one from notScanned for a report without", () => {
    const base: UnitInventoryReport = {
      unit: 'u',
      stateSource: 's',
      compared: 3,
      findings: [],
      failures: [],
      notScanned: [
        { unit: 'u', address: 'aws_lambda_function.fn', type: 'aws_lambda_function', reason: 'x' },
        { unit: 'u', address: 'aws_lambda_function.fn2', type: 'aws_lambda_function', reason: 'x' },
      ],
    };
    const own = stateCoverage(resources);
    expect(inventoryReportCoverage({ ...base, coverage: own })).toBe(own);
    const rebuilt = inventoryReportCoverage(base);
    expect(rebuilt).toMatchObject({
      coveredResources: 3,
      totalResources: 5,
      uncoveredTypes: ['aws_lambda_function'],
    });
    expect(isFullCoverage(rebuilt)).toBe(false);
  });
});

describe('accountCoverage', () => {
  it('counts each resource once, whichever source saw it, and never the supported types twice', () => {
    const managed = [
      ...recorded('aws_security_group', 'app', { id: 'sg-1' }),
      // Recorded and also counted in the account: one resource.
      ...recorded('aws_vpc', 'main', { id: 'vpc-1' }),
      // Only in state: the pass cannot count log groups, the state says one exists.
      ...recorded('aws_cloudwatch_log_group', 'app', { id: '/acme/app' }),
      // Supported but not listed account-wide: not part of the account figure.
      ...recorded('aws_s3_bucket_public_access_block', 'data', { bucket: 'data' }),
    ];
    const c = accountCoverage({
      listed: [
        { type: 'aws_security_group', key: 'sg-1' },
        { type: 'aws_security_group', key: 'sg-2' },
        { type: 'aws_security_group', key: 'sg-2' },
        { type: 'aws_iam_role', key: 'app' },
      ],
      uncovered: [
        { type: 'aws_vpc', id: 'vpc-1' },
        { type: 'aws_iam_user', id: 'bob' },
      ],
      unlistedTypes: ['aws_key_pair'],
      managed,
    });
    expect(c).toEqual({
      coveredTypes: 2,
      totalTypes: 6,
      coveredResources: 3,
      totalResources: 6,
      uncoveredTypes: ['aws_cloudwatch_log_group', 'aws_iam_user', 'aws_key_pair', 'aws_vpc'],
    });
    expect(describeCoverage(c)).toBe(
      '50% (2/6 types, 3/6 resources); not covered: aws_cloudwatch_log_group, aws_iam_user, aws_key_pair, aws_vpc',
    );
  });

  it('findUnmanaged carries the coverage of its listing', () => {
    const report = findUnmanaged(recorded('aws_security_group', 'app', { id: 'sg-1' }), {
      resources: [
        { type: 'aws_security_group', key: 'sg-1' },
        { type: 'aws_security_group', key: 'sg-9' },
      ],
      failures: [],
      uncovered: [{ type: 'aws_subnet', id: 'subnet-1' }],
    });
    expect(report.findings.map((f) => f.resourceId)).toEqual(['sg-9']);
    expect(report.coverage).toEqual({
      coveredTypes: 1,
      totalTypes: 2,
      coveredResources: 2,
      totalResources: 3,
      uncoveredTypes: ['aws_subnet'],
    });
  });

  it('a fully covered account reads 100 % and full', () => {
    const c = accountCoverage({ listed: [{ type: 'aws_iam_role', key: 'app' }], uncovered: [], managed: [] });
    expect(coveragePercent(c)).toBe(100);
    expect(isFullCoverage(c)).toBe(true);
    expect(describeCoverage(c)).toBe('100% (1/1 types, 1/1 resources)');
  });
});
