import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClassifyInputSchema,
  DecisionSchema,
  DecisionTableSchema,
  classify,
  riskRank,
  type ClassifyInput,
  type DecisionTable,
} from '../../../domain/classify';
import { NOW, table } from './support';

const iso = (offsetMin: number) => new Date(NOW.getTime() + offsetMin * 60_000).toISOString();

const SENSITIVE_TYPES = {
  identity: [
    'aws_iam_policy',
    'aws_iam_role',
    'aws_iam_role_policy',
    'rbac.authorization.k8s.io/ClusterRoleBinding',
    'ServiceAccount',
    'google_project_iam_member',
  ],
  network: [
    'aws_security_group',
    'aws_security_group_rule',
    'aws_vpc_security_group_ingress_rule',
    'networking.k8s.io/NetworkPolicy',
    'networking.k8s.io/Ingress',
    'google_compute_firewall',
  ],
  database: [
    'aws_db_instance',
    'aws_db_parameter_group',
    'aws_rds_cluster',
    'google_sql_database_instance',
    'postgresql_grant',
  ],
  secret: [
    'Secret',
    'external-secrets.io/ExternalSecret',
    'aws_secretsmanager_secret_version',
    'bitnami.com/SealedSecret',
    'aws_ssm_parameter',
  ],
};
const PLAIN_TYPES = [
  'apps/Deployment',
  'ConfigMap',
  'aws_s3_bucket',
  'aws_instance',
  'aws_autoscaling_group',
  'aws_eks_cluster',
  'apps/StatefulSet',
];
const PATHS = [
  '/metadata/labels/team',
  '/metadata/annotations/note',
  '/spec/replicas',
  '/spec/template/spec/containers/0/image',
  '/spec/template/spec/containers/0/resources/limits/cpu',
  '/tags/CostCenter',
  '/versioning/0/enabled',
  '/status/readyReplicas',
  '',
];

const actorArb = fc.option(
  fc.record({
    id: fc.constantFrom('alice@example.com', 'kube-controller-manager', 'break-glass', 'ci-bot'),
    type: fc.constantFrom('human', 'controller', 'break-glass', 'ci', 'unknown'),
  }),
  { nil: undefined },
);

function inputArb(resourceType: fc.Arbitrary<string>): fc.Arbitrary<ClassifyInput> {
  return fc
    .record({
      env: fc.constantFrom('prod', 'staging', 'dev'),
      tier: fc.constantFrom('critical', 'high', 'standard', 'low'),
      domain: fc.option(
        fc.constantFrom('app', 'compute', 'storage', 'cost', 'iam', 'network', 'database', 'secrets'),
        { nil: undefined },
      ),
      autoHeal: fc.boolean(),
      requireIncident: fc.boolean(),
      resourceType,
      relationship: fc.constantFrom(
        'desired!=actual',
        'recorded!=actual',
        'desired!=recorded',
        'state-stale',
        'render-noise',
      ),
      changeType: fc.constantFrom('modified', 'deleted', 'created', 'unmanaged'),
      changedFields: fc.uniqueArray(fc.constantFrom(...PATHS), { minLength: 1, maxLength: 3 }),
      hpaOwner: fc.boolean(),
      actor: actorArb,
      incident: fc.option(
        fc.record({ id: fc.constant('INC-1'), status: fc.constantFrom('open', 'resolved') }),
        { nil: undefined },
      ),
      providerUpgrade: fc.boolean(),
      dependencyChanged: fc.option(fc.boolean(), { nil: undefined }),
      policyViolation: fc.option(
        fc.record({ policyId: fc.constant('p-1'), createdBeforePolicy: fc.boolean() }),
        { nil: undefined },
      ),
      runtimeAccepted: fc.option(fc.boolean(), { nil: undefined }),
      detector: fc.constantFrom('ok', 'ok', 'ok', 'failed', 'overdue'),
      reconcile: fc.option(
        fc.record({
          attempts: fc.nat(5),
          lastError: fc.option(fc.constant('apply failed'), { nil: undefined }),
        }),
        { nil: undefined },
      ),
      secret: fc.option(
        fc.record({
          externalVersion: fc.constantFrom('v1', 'v2'),
          clusterVersion: fc.constantFrom('v1', 'v2'),
          consumersStale: fc.boolean(),
        }),
        { nil: undefined },
      ),
      healthy: fc.option(fc.boolean(), { nil: undefined }),
      changeFreeze: fc.option(fc.boolean(), { nil: undefined }),
      cost: fc.option(fc.integer({ min: -50, max: 200 }), { nil: undefined }),
      matching: fc.boolean(),
      policy: fc.option(
        fc.record({
          allowedPaths: fc.constant(['/metadata', '/spec/template/spec/containers/*/resources']),
          maxObjectsPerReconcile: fc.integer({ min: 1, max: 5 }),
          requireHealthyBeforeHeal: fc.boolean(),
        }),
        { nil: undefined },
      ),
    })
    .map((g) => {
      const raw = {
        unit: {
          name: 'unit-a',
          type: 'argocd-app',
          owner: 'team-a',
          environment: g.env,
          riskTier: g.tier,
          ...(g.domain ? { domain: g.domain } : {}),
          policies: { autoHeal: g.autoHeal, requireIncidentForManualChange: g.requireIncident },
        },
        change: {
          resourceRef: `${g.resourceType}.x`,
          resourceType: g.resourceType,
          relationship: g.relationship,
          changeType: g.changeType,
          changedFields: g.changedFields,
          ...(g.hpaOwner && g.changedFields.includes('/spec/replicas')
            ? { fieldOwners: { '/spec/replicas': 'horizontal-pod-autoscaler' } }
            : {}),
        },
        context: {
          ...(g.actor ? { actor: g.actor } : {}),
          ...(g.incident ? { incident: g.incident } : {}),
          ...(g.providerUpgrade ? { providerUpgrade: { from: '1.0', to: '1.1' } } : {}),
          ...(g.dependencyChanged !== undefined ? { dependencyChanged: g.dependencyChanged } : {}),
          ...(g.policyViolation ? { policyViolation: g.policyViolation } : {}),
          ...(g.runtimeAccepted !== undefined ? { runtimeAccepted: g.runtimeAccepted } : {}),
          detector: { status: g.detector, lastSuccessAt: iso(-10) },
          ...(g.reconcile
            ? {
                reconcile:
                  g.reconcile.lastError === undefined ? { attempts: g.reconcile.attempts } : g.reconcile,
              }
            : {}),
          ...(g.secret ? { secret: g.secret } : {}),
          ...(g.healthy !== undefined ? { healthy: g.healthy } : {}),
          ...(g.changeFreeze !== undefined ? { changeFreeze: g.changeFreeze } : {}),
          ...(g.cost !== undefined ? { costDeltaPercent: g.cost } : {}),
          ...(g.matching ? { matchingChange: { kind: 'pr', ref: 'acme/app#12' } } : {}),
        },
        ...(g.policy ? { autoHealPolicy: g.policy } : {}),
      };
      return ClassifyInputSchema.parse(raw);
    });
}

const anyType = fc.constantFrom(...PLAIN_TYPES, ...Object.values(SENSITIVE_TYPES).flat());
const sensitiveType = fc.constantFrom(...Object.values(SENSITIVE_TYPES).flat());

/** A table that tries its hardest to auto-heal everything and to raise risk on exceptions. */
const adversarial: DecisionTable = DecisionTableSchema.parse({
  apiVersion: 'driftplane.dev/v1',
  kind: 'DecisionTable',
  metadata: { name: 'adversarial', version: '1' },
  classDefaults: {},
  rules: [
    {
      id: 'exceptions-are-scary',
      why: 'raise risk on exceptions',
      when: { exception: ['active'] },
      then: { risk: 'CRITICAL', riskAtLeast: 'CRITICAL' },
    },
    {
      id: 'heal-everything',
      why: 'revert everything',
      when: {},
      then: {
        driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
        action: 'RUNTIME_REVERT',
        risk: 'LOW',
        autoHeal: 'allow',
      },
    },
  ],
});

const tables: [string, DecisionTable][] = [
  ['default table', table],
  ['adversarial table', adversarial],
];

const RUNS = { numRuns: 300 };

describe.each(tables)('hard rules hold for the %s', (_name, t) => {
  it('identity, network, database and secret drift is never autoHealAllowed', () => {
    fc.assert(
      fc.property(inputArb(sensitiveType), (input) => {
        const d = classify(input, t, { now: NOW });
        expect(d.autoHealAllowed).toBe(false);
        expect(d.autoHealRefusedBy).toMatch(/^hard:/);
      }),
      RUNS,
    );
  });

  it('any decision with a never-auto-heal category refuses auto-heal', () => {
    fc.assert(
      fc.property(inputArb(anyType), (input) => {
        const d = classify(input, t, { now: NOW });
        if (d.categories.some((c) => ['identity', 'network-exposure', 'database', 'secret'].includes(c)))
          expect(d.autoHealAllowed).toBe(false);
      }),
      RUNS,
    );
  });

  it('the result is DETECTION_STALE whenever the detector is not ok', () => {
    fc.assert(
      fc.property(inputArb(anyType), (input) => {
        const d = classify(input, t, { now: NOW });
        if (input.context.detector.status !== 'ok') {
          expect(d.driftClass).toBe('DETECTION_STALE');
          expect(d.autoHealAllowed).toBe(false);
          expect(d.needsPerson).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('an overdue detector (lastSuccessAt older than maxAgeMinutes) is DETECTION_STALE', () => {
    fc.assert(
      fc.property(inputArb(anyType), fc.integer({ min: 61, max: 10_000 }), (input, ageMin) => {
        const stale = {
          ...input,
          context: {
            ...input.context,
            detector: { status: 'ok' as const, lastSuccessAt: iso(-ageMin), maxAgeMinutes: 60 },
          },
        };
        expect(classify(stale, t, { now: NOW }).driftClass).toBe('DETECTION_STALE');
      }),
      { numRuns: 100 },
    );
  });

  it('adding an active exception never raises risk', () => {
    fc.assert(
      fc.property(inputArb(anyType), fc.integer({ min: 1, max: 60 * 24 * 30 }), (input, minutes) => {
        const before = classify(input, t, { now: NOW });
        const withException = {
          ...input,
          context: { ...input.context, exception: { id: 'EXC-1', expiresAt: iso(minutes) } },
        };
        const after = classify(withException, t, { now: NOW });
        expect(riskRank(after.risk)).toBeLessThanOrEqual(riskRank(before.risk));
      }),
      RUNS,
    );
  });

  it('the same input always gives the same decision (deep-equal, also after a JSON round trip)', () => {
    fc.assert(
      fc.property(inputArb(anyType), (input) => {
        const a = classify(input, t, { now: NOW });
        const b = classify(JSON.parse(JSON.stringify(input)) as ClassifyInput, t, {
          now: new Date(NOW.getTime()),
        });
        expect(b).toEqual(a);
        expect(DecisionSchema.safeParse(a).success).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('secret values never appear in any output', () => {
  it('values under secret paths, in Secrets, and in error messages are never echoed', () => {
    const secretArb = fc
      .string({
        minLength: 6,
        maxLength: 24,
        unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split('')),
      })
      .map((s) => `S3cr3t-${s}`);
    fc.assert(
      fc.property(inputArb(anyType), secretArb, secretArb, (input, s1, s2) => {
        const leaky: ClassifyInput = {
          ...input,
          change: {
            ...input.change,
            changedFields: [...input.change.changedFields, '/data/password'],
            before: { data: { password: s1 }, spec: { token: s2 } },
            after: { data: { password: s2 }, env: [{ name: 'DB_PASSWORD', value: s1 }] },
          },
          context: {
            ...input.context,
            reconcile: { attempts: 2, lastError: `connect failed: password=${s1} token: ${s2}` },
          },
          liveObject: { data: { apiKey: s2 } },
        };
        for (const t of [table, adversarial]) {
          const out = JSON.stringify(classify(leaky, t, { now: NOW }));
          expect(out).not.toContain(s1);
          expect(out).not.toContain(s2);
        }
      }),
      { numRuns: 200 },
    );
  });
});
