import { describe, expect, it } from 'vitest';
import { classify, type ClassifyInput } from '../../../domain/classify';
import { NOW, inputOf, networkStack, statelessApp, table, without } from './support';

interface Row {
  row: string;
  input: ClassifyInput;
  driftClass: string;
  action: string;
  autoHeal: boolean;
  risk?: string;
  refusedBy?: string;
}

const noActor = (base: object, over: Record<string, unknown>) =>
  without(inputOf(base, over), 'context.actor');

// Domain text §3: every row of the drift-class table, plus the classes PRODUCT.md adds.
const driftClassRows: Row[] = [
  {
    row: 'Unauthorized drift: mutation outside approved flow',
    input: inputOf(statelessApp, {
      change: { changedFields: ['/spec/template/spec/containers/0/resources/limits/cpu'] },
    }),
    driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
    action: 'RUNTIME_REVERT',
    autoHeal: true,
    risk: 'MEDIUM',
  },
  {
    row: 'Emergency drift: manual change during incident',
    input: inputOf(networkStack, {
      context: {
        actor: { id: 'arn:aws:sts::123456789012:assumed-role/break-glass/alice', type: 'break-glass' },
        incident: { id: 'INC-9127', status: 'open' },
      },
    }),
    driftClass: 'EMERGENCY_DRIFT',
    action: 'OPEN_RECONCILIATION_PR',
    autoHeal: false,
    risk: 'HIGH',
  },
  {
    row: 'Controller-owned drift: runtime controller mutates fields legitimately',
    input: inputOf(statelessApp, {
      change: {
        changedFields: ['/spec/replicas'],
        fieldOwners: { '/spec/replicas': 'horizontal-pod-autoscaler' },
      },
      context: { actor: { id: 'horizontal-pod-autoscaler', type: 'controller' } },
    }),
    driftClass: 'CONTROLLER_OWNED_DRIFT',
    action: 'IGNORE',
    autoHeal: false,
    risk: 'INFO',
  },
  {
    row: 'Provider-read drift: provider reports equivalent data differently',
    input: noActor(networkStack, {
      unit: { domain: 'storage' },
      change: { resourceRef: 'aws_s3_bucket.logs', resourceType: 'aws_s3_bucket', changedFields: ['/acl'] },
      context: { providerUpgrade: { from: 'hashicorp/aws 5.40.0', to: 'hashicorp/aws 5.41.0' } },
    }),
    driftClass: 'PROVIDER_READ_NOISE',
    action: 'IGNORE',
    autoHeal: false,
  },
  {
    row: 'Dependency drift: external dependency changed its observable state',
    input: noActor(networkStack, {
      unit: { domain: 'compute' },
      change: {
        resourceRef: 'aws_eks_cluster.main',
        resourceType: 'aws_eks_cluster',
        changedFields: ['/version'],
      },
      context: { dependencyChanged: true },
    }),
    driftClass: 'DEPENDENCY_DRIFT',
    action: 'OPEN_RECONCILIATION_PR',
    autoHeal: false,
  },
  {
    row: 'Stale desired state: manual change became accepted',
    input: inputOf(statelessApp, {
      change: { changedFields: ['/spec/template/spec/containers/0/resources/limits/memory'] },
      context: { runtimeAccepted: true },
    }),
    driftClass: 'STALE_DESIRED_STATE',
    action: 'OPEN_RECONCILIATION_PR',
    autoHeal: false,
    refusedBy: 'hard:desired-state-not-fresh',
  },
  {
    row: 'Failed reconciliation drift: controller attempted but could not converge',
    input: noActor(statelessApp, {
      change: { changedFields: ['/spec/template/spec/containers/0/resources'] },
      context: {
        reconcile: { attempts: 3, lastError: 'admission webhook "policy.example.com" denied the request' },
      },
    }),
    driftClass: 'FAILED_RECONCILIATION',
    action: 'INCIDENT',
    autoHeal: false,
    risk: 'HIGH',
  },
  {
    row: 'Policy drift: created before the policy existed',
    input: noActor(networkStack, {
      unit: { domain: 'storage' },
      change: {
        resourceRef: 'aws_s3_bucket.legacy',
        resourceType: 'aws_s3_bucket',
        changedFields: ['/server_side_encryption_configuration'],
      },
      context: { policyViolation: { policyId: 'require-kms-encryption', createdBeforePolicy: true } },
    }),
    driftClass: 'POLICY_DRIFT',
    action: 'MIGRATION_PLAN',
    autoHeal: false,
  },
  {
    row: 'State drift: resource exists but is not tracked (import)',
    input: noActor(networkStack, {
      unit: { domain: 'storage' },
      change: {
        resourceRef: 'aws_s3_bucket.orphan',
        resourceType: 'aws_s3_bucket',
        changeType: 'unmanaged',
        changedFields: [''],
      },
    }),
    driftClass: 'STATE_DRIFT',
    action: 'IMPORT',
    autoHeal: false,
  },
  {
    row: 'State drift: address changed in a refactor (state move)',
    input: noActor(networkStack, {
      unit: { domain: 'storage' },
      change: {
        resourceRef: 'module.logs.aws_s3_bucket.this',
        resourceType: 'aws_s3_bucket',
        relationship: 'desired!=recorded',
        previousAddress: 'aws_s3_bucket.logs',
        changedFields: [''],
      },
    }),
    driftClass: 'STATE_DRIFT',
    action: 'STATE_MOVE',
    autoHeal: false,
  },
  {
    row: 'Identity drift (§5.5): runner role gains permissions',
    input: inputOf(networkStack, {
      unit: { domain: 'iam' },
      change: {
        resourceRef: 'aws_iam_role_policy.runner',
        resourceType: 'aws_iam_role_policy',
        changedFields: ['/policy'],
      },
    }),
    driftClass: 'IDENTITY_DRIFT',
    action: 'INCIDENT',
    autoHeal: false,
    risk: 'CRITICAL',
    refusedBy: 'hard:identity-never-auto-heal',
  },
  {
    row: 'Secret delivery drift (§5.7): rotated in Vault, Kubernetes Secret not refreshed',
    input: noActor(statelessApp, {
      unit: { domain: 'secrets' },
      change: {
        resourceRef: 'external-secrets.io/ExternalSecret/payments/db-credentials',
        resourceType: 'external-secrets.io/ExternalSecret',
        changedFields: ['/status/refreshTime'],
      },
      context: {
        secret: { externalVersion: 'vault:v42', clusterVersion: 'vault:v40', consumersStale: false },
      },
    }),
    driftClass: 'SECRET_DELIVERY_DRIFT',
    action: 'RESTART_CONSUMERS_AFTER_SECRET_SYNC',
    autoHeal: false,
    refusedBy: 'hard:secret-never-auto-heal',
  },
  {
    row: 'Cost drift (§5.8): autoscaler expands beyond budget',
    input: inputOf(statelessApp, {
      unit: { environment: 'dev', domain: 'cost' },
      change: {
        resourceRef: 'aws_autoscaling_group.workers',
        resourceType: 'aws_autoscaling_group',
        relationship: 'recorded!=actual',
        changedFields: ['/desired_capacity'],
      },
      context: { actor: { id: 'cluster-autoscaler', type: 'controller' }, costDeltaPercent: 45 },
    }),
    driftClass: 'COST_DRIFT',
    action: 'OPEN_RECONCILIATION_PR',
    autoHeal: false,
    risk: 'LOW',
  },
  {
    row: 'Detection stale (§24.1): detector failed',
    input: inputOf(statelessApp, {
      context: { detector: { status: 'failed', error: 'AccessDenied: sts:AssumeRoleWithWebIdentity' } },
    }),
    driftClass: 'DETECTION_STALE',
    action: 'INCIDENT',
    autoHeal: false,
    refusedBy: 'hard:detection-stale',
  },
];

// Domain text §9.1: every row of the auto-heal decision matrix.
const autoHealRows: Row[] = [
  {
    row: 'Manual label change on stateless app: usually yes',
    input: inputOf(statelessApp),
    driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
    action: 'RUNTIME_REVERT',
    autoHeal: true,
    risk: 'LOW',
  },
  {
    row: 'Manual image patch in prod: usually yes, plus alert',
    input: inputOf(statelessApp, { change: { changedFields: ['/spec/template/spec/containers/0/image'] } }),
    driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
    action: 'INCIDENT_AND_REVERT',
    autoHeal: true,
    risk: 'HIGH',
  },
  {
    row: 'HPA replica change: usually no (HPA owns replicas)',
    input: inputOf(statelessApp, {
      change: { changedFields: ['/spec/replicas'] },
      context: {
        actor: { id: 'horizontal-pod-autoscaler', type: 'controller' },
        conditions: ['hpa-enabled'],
      },
      ownershipRules: [
        {
          name: 'deployment-runtime-owned-fields',
          resource: { group: 'apps', kind: 'Deployment' },
          gitOwned: [
            '/spec/template/spec/containers',
            '/spec/template/spec/securityContext',
            '/spec/selector',
          ],
          runtimeOwned: ['/status', '/metadata/managedFields'],
          controllerOwned: [
            { path: '/spec/replicas', owner: 'horizontal-pod-autoscaler', condition: 'hpa-enabled' },
          ],
        },
      ],
    }),
    driftClass: 'CONTROLLER_OWNED_DRIFT',
    action: 'IGNORE',
    autoHeal: false,
    refusedBy: 'rule:controller-owned-field',
  },
  {
    row: 'Deleted ConfigMap used by app: maybe (healthy workload: yes)',
    input: inputOf(statelessApp, {
      change: {
        resourceRef: 'ConfigMap/checkout/web-config',
        resourceType: 'ConfigMap',
        changeType: 'deleted',
        changedFields: [''],
      },
    }),
    driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
    action: 'RUNTIME_REVERT',
    autoHeal: true,
  },
  {
    row: 'Deleted ConfigMap used by app: maybe (unknown health: no)',
    input: without(
      inputOf(statelessApp, {
        change: {
          resourceRef: 'ConfigMap/checkout/web-config',
          resourceType: 'ConfigMap',
          changeType: 'deleted',
          changedFields: [''],
        },
      }),
      'context.healthy',
    ),
    driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
    action: 'RUNTIME_REVERT',
    autoHeal: false,
    refusedBy: 'rule:deleted-configmap.requiresHealthy',
  },
  {
    row: 'Security group port opened manually: no silent auto-heal, alert first',
    input: inputOf(networkStack, { unit: { policies: { autoHeal: true } } }),
    driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
    action: 'INCIDENT_AND_REVERT',
    autoHeal: false,
    risk: 'CRITICAL',
    refusedBy: 'hard:network-exposure-never-auto-heal',
  },
  {
    row: 'IAM policy widened manually: no silent auto-heal',
    input: inputOf(networkStack, {
      unit: { domain: 'iam', policies: { autoHeal: true } },
      change: {
        resourceRef: 'aws_iam_policy.deploy',
        resourceType: 'aws_iam_policy',
        changedFields: ['/policy'],
      },
    }),
    driftClass: 'IDENTITY_DRIFT',
    action: 'INCIDENT',
    autoHeal: false,
    risk: 'CRITICAL',
    refusedBy: 'hard:identity-never-auto-heal',
  },
  {
    row: 'Emergency database parameter change: no',
    input: inputOf(networkStack, {
      unit: { domain: 'database', policies: { autoHeal: true } },
      change: {
        resourceRef: 'aws_db_parameter_group.main',
        resourceType: 'aws_db_parameter_group',
        changedFields: ['/parameter/3/value'],
      },
      context: {
        actor: { id: 'dba-break-glass', type: 'break-glass' },
        incident: { id: 'INC-9131', status: 'open' },
      },
    }),
    driftClass: 'EMERGENCY_DRIFT',
    action: 'MIGRATION_PLAN',
    autoHeal: false,
    refusedBy: 'hard:database-never-auto-heal',
  },
  {
    row: 'Sidecar injected by mesh: no (controller-owned mutation)',
    input: noActor(statelessApp, {
      change: {
        changedFields: ['/spec/template/spec/containers/1'],
        fieldOwners: { '/spec/template/spec/containers/1': 'istio-sidecar-injector' },
      },
    }),
    driftClass: 'CONTROLLER_OWNED_DRIFT',
    action: 'IGNORE',
    autoHeal: false,
  },
  {
    row: 'Provider default read noise: no (normalize/suppress, do not churn)',
    input: noActor(statelessApp, {
      unit: { type: 'opentofu-stack', domain: 'storage' },
      change: {
        resourceRef: 'aws_s3_bucket.assets',
        resourceType: 'aws_s3_bucket',
        relationship: 'recorded!=actual',
        changedFields: ['/versioning/0/mfa_delete'],
      },
      context: { providerUpgrade: { from: '5.40.0', to: '5.41.0' } },
    }),
    driftClass: 'PROVIDER_READ_NOISE',
    action: 'IGNORE',
    autoHeal: false,
  },
];

function check(r: Row): void {
  const d = classify(r.input, table, { now: NOW });
  expect({ driftClass: d.driftClass, action: d.recommendedAction, autoHeal: d.autoHealAllowed }).toEqual({
    driftClass: r.driftClass,
    action: r.action,
    autoHeal: r.autoHeal,
  });
  if (r.risk) expect(d.risk).toBe(r.risk);
  if (r.refusedBy) expect(d.autoHealRefusedBy).toBe(r.refusedBy);
  if (r.autoHeal) expect(d.autoHealRefusedBy).toBeUndefined();
  else expect(d.autoHealRefusedBy).toEqual(expect.any(String));
  // Every decision explains itself with the rules that fired.
  expect(d.reasons.length).toBeGreaterThan(0);
  for (const reason of d.reasons) expect(reason.why.length).toBeGreaterThan(0);
}

describe('drift-class table (§3)', () => {
  it.each(driftClassRows)('$row → $driftClass / $action / auto-heal $autoHeal', check);
});

describe('auto-heal matrix (§9.1)', () => {
  it.each(autoHealRows)('$row → $driftClass / $action / auto-heal $autoHeal', check);
});

describe('finding examples', () => {
  it('reproduces the §11.2 finding (security group, CRITICAL, INCIDENT_AND_REVERT, no auto-heal)', () => {
    const input = inputOf(networkStack, {
      finding: {
        findingId: 'drift-20260703-000184',
        detectedAt: '2026-07-03T10:22:31Z',
        sourceOfTruth: 'git://org/infra-live/prod/eu-west-1/network',
        stateBackend: 's3://tfstate-prod/network',
        evidenceUri: 's3://platform-evidence/drift/2026/07/03/drift-20260703-000184',
      },
    });
    const d = classify(input, table, { now: NOW });
    expect(d.finding).toEqual({
      findingId: 'drift-20260703-000184',
      detectedAt: '2026-07-03T10:22:31Z',
      domain: 'cloud-network',
      resourceRef: 'aws_security_group.app_public',
      environment: 'prod',
      owner: 'platform-network',
      sourceOfTruth: 'git://org/infra-live/prod/eu-west-1/network',
      stateBackend: 's3://tfstate-prod/network',
      driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
      risk: 'CRITICAL',
      changedFields: ['/ingress/0/cidr_blocks', '/ingress/0/from_port'],
      auditCorrelation: {
        actor: 'alice@example.com',
        actorType: 'human',
        source: 'cloudtrail',
        eventTime: '2026-07-03T10:11:02Z',
      },
      recommendedAction: 'INCIDENT_AND_REVERT',
      autoHealAllowed: false,
      evidenceUri: 's3://platform-evidence/drift/2026/07/03/drift-20260703-000184',
    });
    expect(d.routeHints.createIncident).toBe(true);
    expect(d.routeHints.notify).toContain('security-oncall');
    expect(d.needsPerson).toBe(true);
  });

  it('reproduces the §17 secret finding (SECRET_DELIVERY_DRIFT, HIGH, RESTART_CONSUMERS_AFTER_SECRET_SYNC) without values', () => {
    const input = inputOf(statelessApp, {
      unit: {
        name: 'payments-prod-secrets',
        type: 'external-secret',
        owner: 'team-payments',
        domain: 'secrets',
        policies: { autoHeal: true },
      },
      change: {
        resourceRef: 'ExternalSecret/prod/payments/db-credentials',
        resourceType: 'external-secrets.io/ExternalSecret',
        changedFields: ['/data/password'],
        before: { data: { password: 'hunter2-old-value' } },
        after: { data: { password: 'correct-horse-battery' } },
      },
      context: {
        actor: undefined,
        secret: {
          externalVersion: 'vault:v42',
          clusterVersion: 'vault:v40',
          consumersStale: true,
          lastRefreshAgeMinutes: 37,
        },
      },
    });
    const d = classify(without(input, 'context.actor'), table, { now: NOW });
    expect(d).toMatchObject({
      driftClass: 'SECRET_DELIVERY_DRIFT',
      risk: 'HIGH',
      recommendedAction: 'RESTART_CONSUMERS_AFTER_SECRET_SYNC',
      autoHealAllowed: false,
      autoHealRefusedBy: 'hard:secret-never-auto-heal',
    });
    expect(d.finding.resourceRef).toBe('ExternalSecret/prod/payments/db-credentials');
    expect(d.budget?.name).toBe('secret-sync-freshness');
    const text = JSON.stringify(d);
    expect(text).toContain('vault:v42');
    expect(text).not.toContain('hunter2-old-value');
    expect(text).not.toContain('correct-horse-battery');
  });
});

describe('hotfix rules (§13.2) and budgets (§10)', () => {
  it('break-glass without an incident is unauthorized and CRITICAL', () => {
    const d = classify(
      inputOf(statelessApp, { context: { actor: { id: 'break-glass-admin', type: 'break-glass' } } }),
      table,
      { now: NOW },
    );
    expect(d).toMatchObject({
      driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
      risk: 'CRITICAL',
      recommendedAction: 'INCIDENT',
      autoHealAllowed: false,
    });
  });

  it('after the incident is resolved, emergency drift must be reconciled within the window', () => {
    const d = classify(
      inputOf(networkStack, { context: { incident: { id: 'INC-9127', status: 'resolved' } } }),
      table,
      { now: NOW },
    );
    expect(d).toMatchObject({
      driftClass: 'EMERGENCY_DRIFT',
      recommendedAction: 'OPEN_RECONCILIATION_PR',
      autoHealAllowed: false,
    });
    expect(d.budget?.name).toBe('hotfix-reconciliation-window');
  });

  it('a unit requiring incidents for manual change escalates a manual change without one', () => {
    const d = classify(
      inputOf(statelessApp, {
        unit: { policies: { requireIncidentForManualChange: true } },
        change: { changedFields: ['/spec/template/spec/containers/0/args'] },
      }),
      table,
      { now: NOW },
    );
    expect(d.recommendedAction).toBe('INCIDENT_AND_REVERT');
    expect(d.risk).toBe('HIGH');
    expect(d.routeHints.createIncident).toBe(true);
  });

  it('production IAM carries the production-iam budget', () => {
    const d = classify(
      inputOf(networkStack, {
        unit: { domain: 'iam' },
        change: {
          resourceType: 'aws_iam_role',
          resourceRef: 'aws_iam_role.ci',
          changedFields: ['/assume_role_policy'],
        },
      }),
      table,
      { now: NOW },
    );
    expect(d.budget).toMatchObject({ name: 'production-iam', detectWithin: 'PT15M' });
  });

  it('stateless metadata carries the 10-minute auto-heal budget', () => {
    const d = classify(inputOf(statelessApp), table, { now: NOW });
    expect(d.budget).toMatchObject({ name: 'stateless-app-metadata', reconcileWithin: 'PT10M' });
  });
});
