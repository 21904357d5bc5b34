import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizePlan } from '../../../domain/plan/normalize-plan';
import { NormalizedPlanSchema } from '../../../domain/plan/normalized-plan-schema';
import type { NormalizedPlan } from '../../../domain/plan/normalized-plan-schema';
import { sharedFixture } from '../../support/shared-fixtures';

const dir = path.dirname(
  sharedFixture('tofu', 'plan', 'testing__equivalence-tests__outputs__drift_simple__plan.json'),
);
const load = (name: string): unknown => JSON.parse(readFileSync(path.join(dir, name), 'utf8'));

/** [address, actions, changedPaths] of a resourceDrift entry. */
type DriftRow = [string, string[], string[], { previousAddress?: string }?];
/** [address, actions, changedPaths, destructive, extra] of a resourceChanges entry. */
type ChangeRow = [
  string,
  string[],
  string[],
  boolean,
  { actionReason?: string; previousAddress?: string; replacePaths?: string[] }?,
];

interface Expected {
  result: NormalizedPlan['result'];
  formatVersion: string;
  toolVersion: string;
  drift: DriftRow[];
  changes: ChangeRow[];
  /** [resourceChanges, destructiveChanges, identityChanges, driftedResources] */
  summary: [number, number, number, number];
  outputs?: string[];
}

/** Made with -refresh-only: normalized as such (the JSON cannot say so itself). */
const REFRESH_ONLY = [
  'testing__equivalence-tests__outputs__drift_refresh_only__plan.json',
  'testing__equivalence-tests__outputs__moved_with_refresh_only__plan.json',
];

const upd = ['update'];
const create = ['create'];
const replace = ['delete', 'create'];

/** What every shared plan fixture normalizes to, written out by hand from the fixture files. */
const EXPECTED: Record<string, Expected> = {
  'internal__command__testdata__show-json-identity__update__output.json': {
    result: 'DRIFT_DETECTED',
    formatVersion: '1.2',
    toolVersion: '1.12.0-dev',
    drift: [],
    // before_identity == after_identity: the same remote object, no objectIdentityChanged.
    changes: [['test_instance.test', upd, ['/ami'], false]],
    summary: [1, 0, 0, 0],
  },
  'internal__command__testdata__show-json__conditions__output.json': {
    result: 'DRIFT_DETECTED',
    formatVersion: '1.1',
    toolVersion: '1.2.0-dev',
    drift: [],
    changes: [
      ['test_instance.bar', create, ['/ami', '/id'], false],
      ['test_instance.foo', create, ['/ami', '/id'], false],
    ],
    summary: [2, 0, 0, 0],
    outputs: ['foo_id'],
  },
  'internal__command__testdata__show-json__drift__output.json': {
    result: 'DRIFT_DETECTED',
    formatVersion: '1.0',
    toolVersion: 'unknown',
    drift: [['test_instance.should_refresh', upd, ['/ami']]],
    changes: [
      ['test_instance.no_refresh', upd, ['/ami'], false],
      ['test_instance.should_refresh', upd, ['/ami'], false],
    ],
    summary: [2, 0, 0, 1],
  },
  'internal__command__testdata__show-json__moved-drift__output.json': {
    result: 'DRIFT_DETECTED',
    formatVersion: '1.0',
    toolVersion: 'unknown',
    drift: [
      [
        'test_instance.should_refresh_with_move',
        upd,
        ['/ami'],
        { previousAddress: 'test_instance.should_refresh' },
      ],
    ],
    changes: [
      ['test_instance.no_refresh', upd, ['/ami'], false],
      [
        'test_instance.should_refresh_with_move',
        upd,
        ['/ami'],
        false,
        { previousAddress: 'test_instance.should_refresh' },
      ],
    ],
    summary: [2, 0, 0, 1],
  },
  'internal__command__testdata__show-json__plan-error__output.json': {
    // errored: true — could not tell, never NO_CHANGES.
    result: 'DETECTION_FAILED',
    formatVersion: '1.2',
    toolVersion: 'unknown',
    drift: [],
    changes: [],
    summary: [0, 0, 0, 0],
  },
  'internal__command__testdata__show-json__requires-replace__output.json': {
    result: 'DRIFT_DETECTED',
    formatVersion: '1.0',
    toolVersion: 'unknown',
    drift: [],
    changes: [
      [
        'test_instance.test',
        replace,
        ['/ami', '/id'],
        true,
        { actionReason: 'replace_because_cannot_update', replacePaths: ['/ami'] },
      ],
    ],
    summary: [1, 1, 0, 0],
  },
  'internal__command__testdata__show-json__sensitive-values__output.json': {
    result: 'DRIFT_DETECTED',
    formatVersion: '1.0',
    toolVersion: 'unknown',
    drift: [],
    // /ami is sensitive: named, never shown.
    changes: [['test_instance.test', create, ['/ami', '/id'], false]],
    summary: [1, 0, 0, 0],
    outputs: ['test'],
  },
  'testing__equivalence-tests__outputs__data_read__plan.json': {
    result: 'DRIFT_DETECTED',
    formatVersion: '1.2',
    toolVersion: 'unknown',
    drift: [],
    // data.tfcoremock_simple_resource.read is ["read"]: not a change.
    changes: [
      ['tfcoremock_simple_resource.create', create, ['/id'], false],
      [
        'module.create.local_file.data_file',
        create,
        ['/content', '/directory_permission', '/file_permission', '/filename', '/id'],
        false,
      ],
      ['module.create.random_integer.random', create, ['/id', '/max', '/min', '/result', '/seed'], false],
    ],
    summary: [3, 0, 0, 0],
  },
  'testing__equivalence-tests__outputs__drift_refresh_only__plan.json': {
    // Refresh-only: the drift is only in resource_drift.
    result: 'DRIFT_DETECTED',
    formatVersion: '1.2',
    toolVersion: 'unknown',
    drift: [['tfcoremock_simple_resource.drift', upd, ['/string']]],
    changes: [],
    summary: [0, 0, 0, 1],
  },
  'testing__equivalence-tests__outputs__drift_simple__plan.json': {
    // A normal plan: the drift is in both lists.
    result: 'DRIFT_DETECTED',
    formatVersion: '1.2',
    toolVersion: 'unknown',
    drift: [['tfcoremock_simple_resource.drift', upd, ['/string']]],
    changes: [['tfcoremock_simple_resource.drift', upd, ['/string'], false]],
    summary: [1, 0, 0, 1],
  },
  'testing__equivalence-tests__outputs__fully_populated_complex_destroy__plan.json': {
    result: 'DRIFT_DETECTED',
    formatVersion: '1.2',
    toolVersion: 'unknown',
    drift: [],
    changes: [['tfcoremock_complex_resource.complex', ['delete'], [], true]], // paths checked separately
    summary: [1, 1, 0, 0],
  },
  'testing__equivalence-tests__outputs__local_provider_delete__plan.json': {
    result: 'DRIFT_DETECTED',
    formatVersion: '1.2',
    toolVersion: 'unknown',
    drift: [],
    changes: [
      [
        'local_file.local_file',
        ['delete'],
        ['/content', '/directory_permission', '/file_permission', '/filename', '/id'],
        true,
        { actionReason: 'delete_because_no_resource_config' },
      ],
    ],
    summary: [1, 1, 0, 0],
  },
  'testing__equivalence-tests__outputs__local_provider_update__plan.json': {
    result: 'DRIFT_DETECTED',
    formatVersion: '1.2',
    toolVersion: 'unknown',
    drift: [],
    changes: [
      [
        'local_file.local_file',
        replace,
        ['/content', '/id'],
        true,
        { actionReason: 'replace_because_cannot_update', replacePaths: ['/content'] },
      ],
    ],
    summary: [1, 1, 0, 0],
  },
  'testing__equivalence-tests__outputs__moved_simple__plan.json': {
    // A pure move (no-op + previous_address) is a change.
    result: 'DRIFT_DETECTED',
    formatVersion: '1.2',
    toolVersion: 'unknown',
    drift: [],
    changes: [
      [
        'tfcoremock_simple_resource.second',
        ['no-op'],
        [],
        false,
        { previousAddress: 'tfcoremock_simple_resource.first' },
      ],
    ],
    summary: [1, 0, 0, 0],
  },
  'testing__equivalence-tests__outputs__moved_with_refresh_only__plan.json': {
    // OpenTofu prints this move as "Objects have changed outside of OpenTofu": every resource_drift entry counts.
    result: 'DRIFT_DETECTED',
    formatVersion: '1.2',
    toolVersion: 'unknown',
    drift: [
      [
        'tfcoremock_simple_resource.second',
        ['no-op'],
        [],
        { previousAddress: 'tfcoremock_simple_resource.first' },
      ],
    ],
    changes: [],
    summary: [0, 0, 0, 1],
  },
  'testing__equivalence-tests__outputs__moved_with_update__plan.json': {
    result: 'DRIFT_DETECTED',
    formatVersion: '1.2',
    toolVersion: 'unknown',
    drift: [],
    changes: [
      [
        'tfcoremock_simple_resource.moved',
        upd,
        ['/string'],
        false,
        { previousAddress: 'tfcoremock_simple_resource.base' },
      ],
    ],
    summary: [1, 0, 0, 0],
  },
  'testing__equivalence-tests__outputs__simple_object_replace__plan.json': {
    result: 'DRIFT_DETECTED',
    formatVersion: '1.2',
    toolVersion: 'unknown',
    drift: [],
    changes: [
      [
        'tfcoremock_object.object',
        replace,
        ['/id'],
        true,
        { actionReason: 'replace_because_cannot_update', replacePaths: ['/id'] },
      ],
    ],
    summary: [1, 1, 0, 0],
  },
  'testing__equivalence-tests__outputs__variables_and_outputs__plan.json': {
    // Only root outputs change: no resource drift, no resource change.
    result: 'NO_CHANGES',
    formatVersion: '1.2',
    toolVersion: 'unknown',
    drift: [],
    changes: [],
    summary: [0, 0, 0, 0],
    outputs: [
      'list_empty_default',
      'list_no_default',
      'nested_optional_object',
      'nested_optional_object_with_default',
      'nested_optional_object_with_embedded_default',
    ],
  },
};

describe('plan normalize on every shared plan fixture', () => {
  it('has an expectation for every fixture in the folder', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(
      readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort(),
    );
  });

  it.each(Object.entries(EXPECTED))('%s', (name, exp) => {
    const n = normalizePlan(load(name), { file: name, refreshOnly: REFRESH_ONLY.includes(name) });
    expect(NormalizedPlanSchema.safeParse(n).success).toBe(true);
    expect(n.result).toBe(exp.result);
    expect(n.formatVersion).toBe(exp.formatVersion);
    expect(n.toolVersion).toBe(exp.toolVersion);

    expect(n.resourceDrift.map((d) => [d.address, d.actions])).toEqual(exp.drift.map(([a, act]) => [a, act]));
    exp.drift.forEach(([, , paths, extra], i) => {
      const d = n.resourceDrift[i]!;
      expect(d.relationship).toBe('recorded!=actual');
      expect(d.changedPaths).toEqual(paths);
      expect(d.previousAddress).toBe(extra?.previousAddress);
    });

    expect(n.resourceChanges.map((c) => [c.address, c.actions])).toEqual(
      exp.changes.map(([a, act]) => [a, act]),
    );
    exp.changes.forEach(([, , paths, destructive, extra], i) => {
      const c = n.resourceChanges[i]!;
      expect(c.relationship).toBe('desired!=actual');
      expect(c.destructive).toBe(destructive);
      expect(c.identity).toBe(false); // no identity-and-access resource types in the fixtures
      if (paths.length || c.actions.join() !== 'delete') expect(c.changedPaths).toEqual(paths);
      expect(c.actionReason).toBe(extra?.actionReason);
      expect(c.previousAddress).toBe(extra?.previousAddress);
      expect(c.replacePaths).toEqual(extra?.replacePaths);
      expect(c.importing).toBeUndefined();
    });

    const s = n.summary;
    expect([s.resourceChanges, s.destructiveChanges, s.identityChanges, s.driftedResources]).toEqual(
      exp.summary,
    );
    expect(n.outputChanges.map((o) => o.name)).toEqual(exp.outputs ?? []);
    expect(n.errored).toBe(exp.result === 'DETECTION_FAILED');
  });

  it.each(REFRESH_ONLY)(
    '%s normalized as a normal plan: no resource_changes while the states differ, could not tell',
    (name) => {
      const n = normalizePlan(load(name), { file: name });
      expect(n.result).toBe('DETECTION_FAILED');
      expect(n.changesMissing).toBe(true);
      expect(n.failureReason).toMatch(/only in prior_state \(tfcoremock_simple_resource\.\w+\)/);
    },
  );

  it.each(Object.keys(EXPECTED).filter((n) => !REFRESH_ONLY.includes(n)))(
    '%s: with its resource_changes removed, could not tell (or unchanged if it had none)',
    (name) => {
      const plan = load(name) as Record<string, unknown>;
      const { resource_changes: dropped, ...stripped } = plan;
      const n = normalizePlan(stripped);
      if (dropped === undefined) {
        expect(n).toEqual(normalizePlan(plan));
      } else {
        expect(n.result).toBe('DETECTION_FAILED');
        expect(n.changesMissing).toBe(true);
      }
    },
  );

  it('lists every non-null leaf of a destroyed complex object, lists and sets of scalars as one path', () => {
    const n = normalizePlan(
      load('testing__equivalence-tests__outputs__fully_populated_complex_destroy__plan.json'),
    );
    const paths = n.resourceChanges[0]!.changedPaths;
    expect(paths).toContain('/id');
    expect(paths).toContain('/object/object/string');
    expect(paths).toContain('/map/key_one/string');
    expect(paths).toContain('/list/2/list/0/number');
    expect(paths.length).toBeGreaterThan(50);
    expect(new Set(paths).size).toBe(paths.length);
    expect([...paths].sort()).toEqual(paths);
  });

  it('attaches relevant_attributes to the drift they name', () => {
    const plan = load('testing__equivalence-tests__outputs__drift_simple__plan.json') as Record<
      string,
      unknown
    >;
    const n = normalizePlan({
      ...plan,
      relevant_attributes: [
        { resource: 'tfcoremock_simple_resource.drift', attribute: ['string'] },
        { resource: 'other.x', attribute: ['id'] },
      ],
    });
    expect(n.resourceDrift[0]!.relevantPaths).toEqual(['/string']);
  });
});
