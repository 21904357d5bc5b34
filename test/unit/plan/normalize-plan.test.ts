import { describe, expect, it } from 'vitest';
import { InputError } from '../../../domain/errors';
import { changedPaths } from '../../../domain/plan/changed-paths';
import { isIdentityResourceType } from '../../../domain/plan/identity';
import { parsePointer, toPointer } from '../../../domain/json-pointer';
import { normalizePlan } from '../../../domain/plan/normalize-plan';

type Change = Record<string, unknown>;

function rc(
  address: string,
  type: string,
  change: Change,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    address,
    mode: 'managed',
    type,
    name: address.split('.').pop(),
    provider_name: 'p',
    change,
    ...extra,
  };
}

function plan(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    format_version: '1.2',
    terraform_version: '1.8.3',
    planned_values: { root_module: {} },
    errored: false,
    ...extra,
  };
}

const update = (before: unknown, after: unknown): Change => ({
  actions: ['update'],
  before,
  after,
  after_unknown: {},
  before_sensitive: {},
  after_sensitive: {},
});

describe('changedPaths', () => {
  it.each<[string, Change, string[]]>([
    ['scalar change', update({ a: 1, b: 'x' }, { a: 2, b: 'x' }), ['/a']],
    ['null and missing are equal', update({ a: null }, {}), []],
    ['added key', update({}, { a: 'x' }), ['/a']],
    ['nested objects', update({ o: { p: { q: 1 } } }, { o: { p: { q: 2 } } }), ['/o/p/q']],
    [
      'list of scalars is one value',
      update(
        { ingress: [{ cidr_blocks: ['10.0.0.0/8'] }] },
        { ingress: [{ cidr_blocks: ['10.0.0.0/8', '0.0.0.0/0'] }] },
      ),
      ['/ingress/0/cidr_blocks'],
    ],
    [
      'list of objects by index',
      update({ l: [{ a: 1 }, { a: 2 }] }, { l: [{ a: 1 }, { a: 3 }, { a: 4 }] }),
      ['/l/1/a', '/l/2/a'],
    ],
    [
      'escaping of ~ and /',
      update({ tags: { 'a/b': '1', 'c~d': '1' } }, { tags: { 'a/b': '2', 'c~d': '2' } }),
      ['/tags/a~1b', '/tags/c~0d'],
    ],
    ['type change', update({ a: [1] }, { a: { x: 1 } }), ['/a']],
    ['null to empty object', update({ a: null }, { a: {} }), ['/a']],
    [
      'unknown after apply',
      {
        actions: ['update'],
        before: { a: 1, id: 'x' },
        after: { a: 1 },
        after_unknown: { id: true, nested: [{ b: true }] },
      },
      ['/id', '/nested/0/b'],
    ],
    [
      'a sensitive map is one path, its keys never shown',
      {
        actions: ['update'],
        before: { secrets: { DB_PASSWORD: 'old' } },
        after: { secrets: { DB_PASSWORD: 'new', API_KEY: 'k' } },
        before_sensitive: { secrets: true },
        after_sensitive: { secrets: true },
      },
      ['/secrets'],
    ],
    [
      'a whole sensitive object is the root path',
      {
        actions: ['update'],
        before: { a: 1 },
        after: { a: 2 },
        before_sensitive: true,
        after_sensitive: true,
      },
      [''],
    ],
    [
      'an unknown inside a sensitive subtree is the subtree',
      {
        actions: ['update'],
        before: {},
        after: {},
        after_unknown: { s: { k: true } },
        after_sensitive: { s: true },
      },
      ['/s'],
    ],
    ['create of an all-null object', { actions: ['create'], before: null, after: { a: null } }, ['']],
    [
      'delete',
      { actions: ['delete'], before: { a: 1, b: null, c: [{ d: 'x' }] }, after: null },
      ['/a', '/c/0/d'],
    ],
  ])('%s', (_name, change, expected) => {
    expect(changedPaths(change)).toEqual(expected);
  });

  it('round-trips pointers', () => {
    const steps = ['a/b', 'c~d', 0, ''];
    expect(parsePointer(toPointer(steps))).toEqual(['a/b', 'c~d', '0', '']);
  });
});

describe('isIdentityResourceType', () => {
  it.each([
    ['aws_iam_role', true],
    ['aws_iam_role_policy_attachment', true],
    ['google_project_iam_member', true],
    ['google_storage_bucket_iam_binding', true],
    ['azurerm_role_assignment', true],
    ['kubernetes_cluster_role_binding_v1', true],
    ['aws_security_group', false],
    ['aws_s3_bucket', false],
    ['google_compute_instance', false],
  ])('%s → %s', (type, expected) => {
    expect(isIdentityResourceType(type)).toBe(expected);
  });
});

describe('normalizePlan on documented shapes the shared fixtures lack', () => {
  it('keeps every documented action, deposed objects, imports and unknown action reasons', () => {
    const n = normalizePlan(
      plan({
        resource_changes: [
          rc(
            'aws_instance.cbd',
            'aws_instance',
            { ...update({ ami: 'a' }, { ami: 'b' }), actions: ['create', 'delete'] },
            { action_reason: 'replace_by_triggers' },
          ),
          rc(
            'aws_instance.old',
            'aws_instance',
            { actions: ['delete'], before: { id: 'i-1' }, after: null },
            { deposed: '00000001' },
          ),
          rc('aws_s3_bucket.kept', 'aws_s3_bucket', {
            actions: ['forget'],
            before: { bucket: 'b' },
            after: null,
          }),
          rc('aws_s3_bucket.imported', 'aws_s3_bucket', {
            ...update({ bucket: 'b' }, { bucket: 'b' }),
            actions: ['no-op'],
            importing: { id: 'b' },
          }),
          rc(
            'aws_iam_role.ci',
            'aws_iam_role',
            update({ assume_role_policy: '{}' }, { assume_role_policy: '{"x":1}' }),
            {
              action_reason: 'replace_because_of_the_moon', // unknown reasons are tolerated and passed through
            },
          ),
          rc('aws_vpc.same', 'aws_vpc', { ...update({ id: 'v' }, { id: 'v' }), actions: ['no-op'] }),
          rc('data.aws_ami.x', 'aws_ami', { actions: ['read'], before: null, after: {} }, { mode: 'data' }),
          rc('aws_instance.future', 'aws_instance', {
            ...update({}, {}),
            actions: ['teleport'],
            some_future_field: 1,
          }),
        ],
        some_future_top_level_field: { anything: true },
      }),
    );
    expect(n.result).toBe('DRIFT_DETECTED');
    const by = Object.fromEntries(n.resourceChanges.map((c) => [c.address, c]));
    expect(Object.keys(by)).toEqual([
      'aws_instance.cbd',
      'aws_instance.old',
      'aws_s3_bucket.kept',
      'aws_s3_bucket.imported',
      'aws_iam_role.ci',
      'aws_instance.future',
    ]);
    expect(by['aws_instance.cbd']).toMatchObject({
      destructive: true,
      actionReason: 'replace_by_triggers',
      changedPaths: ['/ami'],
    });
    expect(by['aws_instance.old']).toMatchObject({
      destructive: true,
      deposed: '00000001',
      changedPaths: ['/id'],
    });
    expect(by['aws_s3_bucket.kept']).toMatchObject({ actions: ['forget'], destructive: false });
    expect(by['aws_s3_bucket.imported']).toMatchObject({
      importing: true,
      actions: ['no-op'],
      changedPaths: [],
    });
    expect(by['aws_iam_role.ci']).toMatchObject({
      identity: true,
      actionReason: 'replace_because_of_the_moon',
    });
    expect(n.summary).toMatchObject({
      resourceChanges: 6,
      destructiveChanges: 2,
      identityChanges: 1,
      driftedResources: 0,
    });
  });

  it('flags a change of OpenTofu resource identity, which is not identity-and-access', () => {
    const n = normalizePlan(
      plan({
        resource_changes: [
          rc('x_thing.a', 'x_thing', {
            ...update({ a: 1 }, { a: 2 }),
            before_identity: { id: 'one' },
            after_identity: { id: 'two' },
          }),
        ],
      }),
    );
    expect(n.resourceChanges[0]).toMatchObject({ objectIdentityChanged: true, identity: false });
  });

  it('counts identity drift apart from identity changes', () => {
    const n = normalizePlan(
      plan({
        resource_drift: [rc('aws_iam_role.ci', 'aws_iam_role', update({ a: 1 }, { a: 2 }))],
        resource_changes: [],
      }),
    );
    expect(n.summary).toMatchObject({ identityChanges: 0, identityDrift: 1, driftedResources: 1 });
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'errored, even with changes',
      { errored: true, resource_changes: [rc('a.b', 'a', update({ x: 1 }, { x: 2 }))] },
      'DETECTION_FAILED',
    ],
    ['errored, nothing planned', { errored: true }, 'DETECTION_FAILED'],
    ['incomplete with nothing found', { complete: false }, 'DETECTION_FAILED'],
    [
      'incomplete with drift',
      { complete: false, resource_drift: [rc('a.b', 'a', update({ x: 1 }, { x: 2 }))] },
      'DRIFT_DETECTED',
    ],
    ['no lists at all', {}, 'NO_CHANGES'],
  ])('result: %s → %s', (_name, extra, result) => {
    expect(normalizePlan(plan(extra)).result).toBe(result);
  });

  it.each<[string, unknown, string]>([
    ['not an object', [1, 2], '/'],
    ['no format_version', { resource_changes: [] }, '/format_version'],
    ['unsupported major version', { format_version: '2.0' }, '/format_version'],
    ['resource_changes not an array', plan({ resource_changes: {} }), '/resource_changes'],
    [
      'entry without address',
      plan({ resource_changes: [{ type: 't', change: { actions: ['create'] } }] }),
      '/resource_changes/0/address',
    ],
    [
      'entry without change',
      plan({ resource_drift: [{ address: 'a.b', type: 'a' }] }),
      '/resource_drift/0/change',
    ],
    [
      'empty actions',
      plan({ resource_changes: [rc('a.b', 'a', { actions: [] })] }),
      '/resource_changes/0/change/actions',
    ],
    [
      'non-string action',
      plan({ resource_changes: [rc('a.b', 'a', { actions: ['update', 3] })] }),
      '/resource_changes/0/change/actions/1',
    ],
    ['errored not boolean', plan({ errored: 'yes' }), '/errored'],
    ['errored null', plan({ errored: null }), '/errored'],
    ['complete null', plan({ complete: null }), '/complete'],
    ['resource_changes null', plan({ resource_changes: null }), '/resource_changes'],
    ['resource_drift null', plan({ resource_drift: null }), '/resource_drift'],
    ['output_changes null', plan({ output_changes: null }), '/output_changes'],
    ['output_changes an array', plan({ output_changes: [] }), '/output_changes'],
    ['only a format_version', { format_version: '1.2' }, '/planned_values'],
    ['planned_values null', plan({ planned_values: null }), '/planned_values'],
    ['planned_values an array', plan({ planned_values: [] }), '/planned_values'],
    ['planned_values without root_module', plan({ planned_values: {} }), '/planned_values/root_module'],
    [
      'planned resources not an array',
      plan({ planned_values: { root_module: { resources: {} } } }),
      '/planned_values/root_module/resources',
    ],
    [
      'planned child_modules not an array',
      plan({ planned_values: { root_module: { child_modules: 'x' } } }),
      '/planned_values/root_module/child_modules',
    ],
    ['prior_state a string', plan({ prior_state: 'x' }), '/prior_state'],
    ['prior_state values an array', plan({ prior_state: { values: [] } }), '/prior_state/values'],
    [
      'prior root_module null',
      plan({ prior_state: { values: { root_module: null } } }),
      '/prior_state/values/root_module',
    ],
    [
      'a planned resource without address, read because resource_changes is missing',
      plan({ planned_values: { root_module: { resources: [{ mode: 'managed', values: {} }] } } }),
      '/planned_values/root_module/resources/0/address',
    ],
    [
      'a prior child module that is not an object',
      plan({ prior_state: { values: { root_module: { child_modules: [3] } } } }),
      '/prior_state/values/root_module/child_modules/0',
    ],
    [
      'bad relevant_attributes',
      plan({ relevant_attributes: [{ resource: 'a.b', attribute: 'x' }] }),
      '/relevant_attributes/0/attribute',
    ],
    [
      'bad replace_paths',
      plan({ resource_changes: [rc('a.b', 'a', { actions: ['update'], replace_paths: 'x' })] }),
      '/resource_changes/0/change/replace_paths',
    ],
  ])('malformed input (%s) is an InputError naming %s', (_name, input, field) => {
    let err: unknown;
    try {
      normalizePlan(input, { file: 'plan.json' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).location).toEqual({ file: 'plan.json', field });
    expect((err as InputError).message).toContain(`plan.json field ${field}:`);
  });
});

describe('normalizePlan without resource_changes entries: the states must agree, or it could not tell', () => {
  const res = (address: string, values: unknown, extra: Record<string, unknown> = {}) => ({
    address,
    mode: 'managed',
    type: address.split('.')[0],
    name: address.split('.')[1],
    values,
    ...extra,
  });
  const states = (prior: unknown[], planned: unknown[], extra: Record<string, unknown> = {}) =>
    plan({
      planned_values: { root_module: { resources: planned } },
      prior_state: { format_version: '1.0', values: { root_module: { resources: prior } } },
      ...extra,
    });
  const a = res('x_thing.a', { id: 'a', size: 1 });
  const b = res('x_thing.b', { id: 'b' });
  const drift = [rc('x_thing.a', 'x_thing', update({ size: 1 }, { size: 2 }))];

  it.each<[string, Record<string, unknown>, string[]]>([
    [
      'a resource only in prior_state (a hidden delete)',
      states([a, b], [a]),
      ['1 only in prior_state (x_thing.b)'],
    ],
    [
      'a resource only in planned_values (a hidden create)',
      states([a], [a, b]),
      ['1 only in planned_values (x_thing.b)'],
    ],
    [
      'a hidden replace: delete and create of another address',
      states([a], [b]),
      ['only in prior_state (x_thing.a)', 'only in planned_values (x_thing.b)'],
    ],
    [
      'other values (a hidden update)',
      states([a], [res('x_thing.a', { id: 'a', size: 2 })]),
      ['1 with other values (x_thing.a)'],
    ],
    [
      'an explicitly empty resource_changes list counts as missing',
      states([a, b], [a], { resource_changes: [] }),
      ['only in prior_state (x_thing.b)'],
    ],
    [
      'resources in child modules are compared too',
      plan({
        planned_values: { root_module: { child_modules: [{ address: 'module.m', resources: [] }] } },
        prior_state: {
          values: {
            root_module: {
              child_modules: [{ address: 'module.m', resources: [res('module.m.x_thing.c', {})] }],
            },
          },
        },
      }),
      ['only in prior_state (module.m.x_thing.c)'],
    ],
    [
      'a deposed object in prior_state is one more object to delete',
      states([a, res('x_thing.a', { id: 'old' }, { deposed_key: '0001' })], [a]),
      ['only in prior_state (x_thing.a (deposed 0001))'],
    ],
    [
      'listed drift does not make up for lost changes',
      states([a], [], { resource_drift: drift }),
      ['x_thing.a'],
    ],
    [
      'a long list is shortened',
      states(
        [1, 2, 3, 4, 5].map((i) => res(`x_thing.r${i}`, {})),
        [],
      ),
      ['5 only in prior_state (x_thing.r1, x_thing.r2, x_thing.r3, … 2 more)'],
    ],
  ])('%s: DETECTION_FAILED', (_name, input, reasonParts) => {
    const n = normalizePlan(input);
    expect(n.result).toBe('DETECTION_FAILED');
    expect(n.changesMissing).toBe(true);
    expect(n.failureReason).toMatch(
      /^resource_changes is missing, yet prior_state and planned_values differ/,
    );
    for (const part of reasonParts) expect(n.failureReason).toContain(part);
  });

  it('never puts a value in the reason', () => {
    const n = normalizePlan(states([res('x_thing.a', { password: 'hunter2-secret' })], []));
    expect(n.failureReason).not.toContain('hunter2');
  });

  it.each<[string, Record<string, unknown>]>([
    [
      'the same resources and values (null equals missing)',
      states([a, res('x_thing.n', { v: null })], [a, res('x_thing.n', {})]),
    ],
    ['listed drift, and the states agree', states([a], [a], { resource_drift: drift })],
  ])(
    '%s, yet no entry for a managed resource: a move or import may be hidden, DETECTION_FAILED',
    (_name, input) => {
      const n = normalizePlan(input);
      expect(n.result).toBe('DETECTION_FAILED');
      expect(n.changesMissing).toBe(true);
      expect(n.failureReason).toMatch(/^resource_changes is missing, yet \d managed resources \(x_thing\.a/);
      expect(n.failureReason).toContain('a move or an import may be hidden');
    },
  );

  it.each<[string, Record<string, unknown>, string]>([
    ['no prior state and nothing planned', plan({}), 'NO_CHANGES'],
    [
      'data sources only: they are read, not changed',
      states([res('x_src.d', { id: 1 }, { mode: 'data' })], [res('x_src.d', { id: 1 }, { mode: 'data' })]),
      'NO_CHANGES',
    ],
    [
      'listed drift, and no managed resource in either state',
      plan({ resource_drift: drift }),
      'DRIFT_DETECTED',
    ],
  ])('%s: %s', (_name, input, result) => {
    const n = normalizePlan(input);
    expect(n.result).toBe(result);
    expect(n.changesMissing).toBeUndefined();
    expect(n.failureReason).toBeUndefined();
  });

  it('an errored plan says it errored, and still that its changes are missing', () => {
    const n = normalizePlan(states([a], [], { errored: true }));
    expect(n.result).toBe('DETECTION_FAILED');
    expect(n.failureReason).toMatch(/errored: true/);
    expect(n.changesMissing).toBe(true);
  });

  it('a refresh-only plan never has changes: its states may differ, its drift decides', () => {
    expect(normalizePlan(states([a], []), { refreshOnly: true }).result).toBe('NO_CHANGES');
    expect(normalizePlan(states([a], [], { resource_drift: drift }), { refreshOnly: true }).result).toBe(
      'DRIFT_DETECTED',
    );
    // The same documents without the option: could not tell.
    expect(normalizePlan(states([a], [])).result).toBe('DETECTION_FAILED');
    expect(normalizePlan(states([a], [], { resource_drift: drift })).result).toBe('DETECTION_FAILED');
  });

  it('a present change list is trusted: the states are not compared', () => {
    const n = normalizePlan(
      states([a], [], {
        resource_changes: [rc('x_thing.a', 'x_thing', { actions: ['delete'], before: {}, after: null })],
      }),
    );
    expect(n.result).toBe('DRIFT_DETECTED');
    expect(n.summary.destructiveChanges).toBe(1);
  });
});
