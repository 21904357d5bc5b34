import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzePlanes } from '../../../domain/classify/planes';
import { DriftObservationSchema, type DriftObservation } from '../../../domain/finding';
import { normalizePlan } from '../../../domain/plan/normalize-plan';
import {
  configAddressOf,
  equivalentRepresentation,
  planObservations,
  planResourceCount,
} from '../../../domain/plan/plan-observations';
import { redactPlan } from '../../../domain/plan/redact-plan';
import { createRedactor } from '../../../domain/redaction';
import { sharedFixture } from '../../support/shared-fixtures';

const PLAN_DIR = path.dirname(
  sharedFixture('tofu', 'plan', 'testing__equivalence-tests__outputs__drift_simple__plan.json'),
);
type Plan = Record<string, unknown> & {
  resource_changes?: {
    address: string;
    type: string;
    provider_name?: string;
    change: Record<string, unknown>;
  }[];
  resource_drift?: unknown[];
};
const load = (name: string): Plan => JSON.parse(readFileSync(path.join(PLAN_DIR, name), 'utf8')) as Plan;
const AT = '2026-08-01T10:00:00.000Z';
const LOCAL = 'registry.opentofu.org/hashicorp/local';

function observe(
  plan: Plan,
  opts: Partial<Parameters<typeof planObservations>[0]> = {},
  refreshOnly = false,
): DriftObservation[] {
  const normalized = normalizePlan(plan, { refreshOnly });
  return planObservations({
    unit: 'payments/network',
    plan: redactPlan(plan),
    normalized,
    mode: refreshOnly ? 'refresh-only' : 'normal',
    detectedAt: AT,
    ...opts,
  });
}

/** The relationship the classifier's three-plane analysis derives from an observation's planes. */
const derived = (o: DriftObservation) =>
  analyzePlanes({ planes: o.context!.planes!, resourceRef: o.resourceRef }).relationship;

describe('planObservations: three planes from real plans', () => {
  it('drift the plan would revert (drift_simple) is recorded!=actual, refresh-observed', () => {
    const obs = observe(load('testing__equivalence-tests__outputs__drift_simple__plan.json'));
    expect(obs).toHaveLength(1);
    const o = obs[0]!;
    expect(o).toMatchObject({
      resourceRef: 'tfcoremock_simple_resource.drift',
      resourceType: 'tfcoremock_simple_resource',
      relationship: 'recorded!=actual',
      changeType: 'modified',
      changedFields: ['/string'],
      diff: [{ path: '/string', kind: 'changed', desired: 'Hello, world!', actual: 'Hello, drift!' }],
      detector: 'plan',
    });
    const p = o.context!.planes!;
    expect(p.desired).toBe(p.recorded);
    expect(p.actual).not.toBe(p.recorded);
    expect(p.refreshObserved).toBe(true);
    expect(derived(o)).toBe('recorded!=actual');
    expect(() => DriftObservationSchema.parse(o)).not.toThrow();
  });

  it('a configuration change not applied is desired!=recorded; drift plus another configuration is desired!=actual (show-json drift)', () => {
    const obs = observe(load('internal__command__testdata__show-json__drift__output.json'));
    const by = Object.fromEntries(obs.map((o) => [o.resourceRef, o]));
    expect(Object.keys(by).sort()).toEqual(['test_instance.no_refresh', 'test_instance.should_refresh']);
    expect(by['test_instance.no_refresh']).toMatchObject({
      relationship: 'desired!=recorded',
      changedFields: ['/ami'],
    });
    expect(by['test_instance.no_refresh']!.diff).toEqual([
      { path: '/ami', kind: 'changed', desired: 'bar', actual: 'foo' },
    ]);
    expect(by['test_instance.should_refresh']).toMatchObject({
      relationship: 'desired!=actual',
      changedFields: ['/ami'],
    });
    const p = by['test_instance.should_refresh']!.context!.planes!;
    expect(new Set([p.desired, p.recorded, p.actual]).size).toBe(3);
    for (const o of obs) expect(derived(o)).toBe(o.relationship);
  });

  it('a move carries previousAddress; a move with an update is desired!=recorded (moved_with_update)', () => {
    const [o] = observe(load('testing__equivalence-tests__outputs__moved_with_update__plan.json'));
    expect(o).toMatchObject({
      resourceRef: 'tfcoremock_simple_resource.moved',
      relationship: 'desired!=recorded',
      changedFields: ['/string'],
      context: { previousAddress: 'tfcoremock_simple_resource.base', destructive: false },
    });
    expect(derived(o!)).toBe('desired!=recorded');
  });

  it('a move alone is one observation of the whole resource, desired!=recorded (moved_simple)', () => {
    const [o, ...rest] = observe(load('testing__equivalence-tests__outputs__moved_simple__plan.json'));
    expect(rest).toHaveLength(0);
    expect(o).toMatchObject({
      changedFields: ['/'],
      relationship: 'desired!=recorded',
      context: { previousAddress: 'tfcoremock_simple_resource.first' },
    });
    expect(derived(o!)).toBe('desired!=recorded');
  });

  it('a replace is destructive (simple_object_replace); a delete is a deleted, destructive change (local_provider_delete)', () => {
    const [replace] = observe(load('testing__equivalence-tests__outputs__simple_object_replace__plan.json'));
    expect(replace).toMatchObject({ changeType: 'modified', context: { destructive: true } });
    const [del] = observe(load('testing__equivalence-tests__outputs__local_provider_delete__plan.json'));
    expect(del).toMatchObject({
      changeType: 'deleted',
      relationship: 'desired!=recorded',
      context: { destructive: true },
    });
    expect(del!.diff.every((d) => d.kind === 'added' && !('desired' in d))).toBe(true);
  });

  it('a refresh-only plan has no desired plane: recorded!=actual is declared and no planes are claimed', () => {
    const [o] = observe(load('testing__equivalence-tests__outputs__drift_refresh_only__plan.json'), {}, true);
    expect(o).toMatchObject({ relationship: 'recorded!=actual', changedFields: ['/string'] });
    expect(o!.context!.planes).toBeUndefined();
  });

  it('every real fixture plan: the planes analysis derives the observation relationship, and each observation is valid', () => {
    let seen = 0;
    for (const f of readdirSync(PLAN_DIR).filter((n) => n.endsWith('.json'))) {
      const plan = load(f);
      const refreshOnly = f.includes('refresh_only');
      const n = normalizePlan(plan, { refreshOnly });
      if (n.result !== 'DRIFT_DETECTED') continue;
      const obs = observe(plan, {}, refreshOnly);
      // One observation per changed resource instance.
      const keys = new Set(
        [...n.resourceDrift, ...n.resourceChanges].map((e) =>
          e.deposed ? `${e.address} (deposed ${e.deposed})` : e.address,
        ),
      );
      expect(obs.map((o) => o.resourceRef).sort(), f).toEqual([...keys].sort());
      for (const o of obs) {
        DriftObservationSchema.parse(o);
        if (o.context?.planes) expect(derived(o), `${f} ${o.resourceRef}`).toBe(o.relationship);
        seen++;
      }
    }
    expect(seen).toBeGreaterThan(10);
  });
});

describe('planObservations: flags and values', () => {
  it('sensitive values never reach an observation; a keyed redactor keeps them comparable', () => {
    const plan = load('internal__command__testdata__show-json__sensitive-values__output.json');
    for (const redactor of [undefined, createRedactor({ key: new Uint8Array(32).fill(7) })]) {
      const obs = observe(plan, redactor ? { redactor } : {});
      expect(obs).toHaveLength(1);
      expect(obs[0]).toMatchObject({
        changeType: 'created',
        relationship: 'desired!=recorded',
        changedFields: ['/ami', '/id'],
      });
      expect(JSON.stringify(obs)).not.toContain('boop');
      expect(String(obs[0]!.diff.find((d) => d.path === '/ami')!.desired)).toMatch(
        /^\[REDACTED( hmac:[0-9a-f]{16})?\]$/,
      );
    }
  });

  it('identity resource types carry identity and its category; an import is unmanaged and importing', () => {
    const plan = load('testing__equivalence-tests__outputs__drift_simple__plan.json');
    for (const e of [
      ...(plan.resource_changes ?? []),
      ...((plan.resource_drift ?? []) as typeof plan.resource_changes & object),
    ])
      e.type = 'aws_iam_role';
    const [o] = observe(plan);
    expect(o!.context).toMatchObject({ identity: true, categories: ['identity'] });

    const imp = load('testing__equivalence-tests__outputs__drift_simple__plan.json');
    delete imp.resource_drift;
    const rc = imp.resource_changes![0]!;
    rc.change = {
      ...rc.change,
      actions: ['no-op'],
      after: rc.change.before,
      importing: { id: 'f3c6ddc5-37d5-0170-64ff-518ad421385a' },
    };
    const [i] = observe(imp);
    expect(i).toMatchObject({
      changeType: 'unmanaged',
      relationship: 'recorded!=actual',
      changedFields: ['/'],
      context: { importing: true },
    });
    expect(derived(i!)).toBe('recorded!=actual');
  });

  it('long values are replaced by a note pointing at the plan artifact; artifacts and sources are carried', () => {
    const plan = load('testing__equivalence-tests__outputs__drift_simple__plan.json');
    const long = 'x'.repeat(5000);
    (plan.resource_changes![0]!.change.after as Record<string, unknown>).string = long;
    const artifact = {
      name: 'plan.json',
      uri: `evidence://artifacts/sha256/${'a'.repeat(64)}`,
      sha256: 'a'.repeat(64),
      bytes: 10,
    };
    const [o] = observe(plan, {
      artifacts: [artifact],
      sourceOfTruth: 'file:///repo/stacks/net@main',
      stateBackend: 's3://b/k',
      maxValueChars: 100,
    });
    expect(o!.diff[0]!.desired).toMatch(
      /^\[5002 characters \(digest [0-9a-f]{16}\): see the plan artifact\]$/,
    );
    expect(o).toMatchObject({
      sourceOfTruth: 'file:///repo/stacks/net@main',
      stateBackend: 's3://b/k',
      context: { artifacts: [artifact] },
    });
    expect(JSON.stringify(o).length).toBeLessThan(2000);
  });
});

describe('planObservations: provider upgrades', () => {
  const upgrade = [{ provider: LOCAL, from: '2.4.0', to: '2.5.0' }];
  /** local_provider_update with its content re-encoded: the same JSON written with spaces. */
  const reencoded = (): Plan => {
    const plan = load('testing__equivalence-tests__outputs__local_provider_update__plan.json');
    const c = plan.resource_changes![0]!.change as {
      before: { content: string };
      after: { content: string };
    };
    c.after.content = JSON.stringify(JSON.parse(c.before.content), null, 2);
    return plan;
  };

  it('set when the lock changed for the resource provider and the diff is representation-only', () => {
    const [o] = observe(reencoded(), { providerChanges: upgrade });
    expect(o!.changedFields).toEqual(['/content', '/id']);
    expect(o!.context!.providerUpgrade).toEqual({
      from: 'hashicorp/local 2.4.0',
      to: 'hashicorp/local 2.5.0',
    });
  });

  it('not set without a lock change, for another provider, or when a value really changed', () => {
    expect(observe(reencoded())[0]!.context!.providerUpgrade).toBeUndefined();
    expect(
      observe(reencoded(), {
        providerChanges: [{ provider: 'registry.opentofu.org/hashicorp/aws', from: '5.1.0', to: '5.2.0' }],
      })[0]!.context!.providerUpgrade,
    ).toBeUndefined();
    const real = load('testing__equivalence-tests__outputs__local_provider_update__plan.json');
    expect(observe(real, { providerChanges: upgrade })[0]!.context!.providerUpgrade).toBeUndefined();
  });

  it('a drift on an attribute the configuration does not set counts as provider-computed', () => {
    const plan = load('internal__command__testdata__show-json__drift__output.json');
    // should_refresh drifts /ami, which its configuration sets: not representation-only.
    const changes = [{ provider: 'registry.opentofu.org/hashicorp/test', from: '1.0.0', to: '1.1.0' }];
    expect(
      observe(plan, { providerChanges: changes }).every((o) => o.context!.providerUpgrade === undefined),
    ).toBe(true);
    // The same plan with `ami` left out of the configuration: the provider computes it.
    const conf = plan.configuration as {
      root_module: { resources: { expressions: Record<string, unknown> }[] };
    };
    for (const r of conf.root_module.resources) delete r.expressions.ami;
    const obs = observe(plan, { providerChanges: changes });
    expect(obs.map((o) => o.context!.providerUpgrade)).toEqual([
      { from: 'hashicorp/test 1.0.0', to: 'hashicorp/test 1.1.0' },
      { from: 'hashicorp/test 1.0.0', to: 'hashicorp/test 1.1.0' },
    ]);
  });
});

describe('helpers', () => {
  it('equivalentRepresentation: re-encoded JSON and stringified scalars are one value; redacted values never are', () => {
    expect(equivalentRepresentation('{"a":1,"b":[1,2]}', '{ "b": [1, 2], "a": 1 }')).toBe(true);
    expect(equivalentRepresentation('10', 10)).toBe(true);
    expect(equivalentRepresentation('{"a":1}', '{"a":2}')).toBe(false);
    expect(equivalentRepresentation('not json', 'not  json')).toBe(false);
    expect(equivalentRepresentation('[REDACTED]', '[REDACTED]')).toBe(true); // identical text: jsonEqual
    expect(equivalentRepresentation('[REDACTED]', '"[REDACTED]"')).toBe(false);
  });

  it('configAddressOf strips instance keys; planResourceCount counts managed instances', () => {
    expect(configAddressOf('module.net["a]b"].aws_subnet.s[0]')).toBe('module.net.aws_subnet.s');
    expect(planResourceCount(load('internal__command__testdata__show-json__drift__output.json'))).toBe(2);
  });
});
