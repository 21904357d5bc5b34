import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue, loadRegistry } from '../../../registry';
import { baseRegistry, markedLine, testNow, unit, writeRegistry } from './support';

/** Spec lines of a unit: defaults overlaid by `fields` (undefined removes one); `mark` puts the `# <` marker on a key. */
function spec(fields: Record<string, string | undefined> = {}, mark?: string): string {
  const all: Record<string, string | undefined> = {
    type: 'argocd-app',
    owner: 'web',
    environment: 'staging',
    riskTier: 'low',
    domain: 'app',
    source: '{ repo: github.com/example/gitops, path: apps/x }',
    ...fields,
  };
  return Object.entries(all)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const value = v as string;
      const m = k === mark ? ' # <' : '';
      return value.startsWith('\n')
        ? `  ${k}:${m}${value.replace(/\n/g, '\n    ')}\n`
        : `  ${k}: ${value}${m}\n`;
    })
    .join('');
}

const iac = (fields: Record<string, string | undefined> = {}, mark?: string) =>
  spec(
    {
      type: 'opentofu-stack',
      domain: 'compute',
      state: '{ backend: s3, bucket: b, key: k }',
      credentials: '{ oidcRole: "arn:aws:iam::123456789012:role/drift-x" }',
      ...fields,
    },
    mark,
  );

const doc = (kind: string, name: string, body: string) => `apiVersion: driftplane.io/v1alpha1
kind: ${kind}
metadata:
  name: ${name}
spec:
${body}`;

const exception = (fields: Record<string, string | undefined>, mark?: string) =>
  doc(
    'DriftException',
    'exc',
    Object.entries({
      scope: '{ unit: web-prod, kind: ConfigMap, name: flags }',
      paths: '[/data/FLAG]',
      reason: 'feature flag toggled during rollout',
      owner: 'web',
      approvedBy: 'ann@example.com',
      approvedAt: '2026-11-01',
      expiresAt: '2027-01-15',
      ...fields,
    })
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `  ${k}: ${v}${k === mark ? ' # <' : ''}\n`)
      .join(''),
  );

interface Case {
  rule: string;
  field: string;
  yaml: string;
  kind?: string;
  name?: string;
  severity?: 'error' | 'warning';
  now?: Date;
}

const cases: Case[] = [
  // --- document and schema rules
  {
    rule: 'yaml-syntax',
    field: '',
    yaml: 'apiVersion: driftplane.io/v1alpha1\nkind: Team\nkind: Team # <\n',
  },
  { rule: 'yaml-syntax', field: '', yaml: 'apiVersion: driftplane.io/v1alpha1\nspec:\n\towner: web # <\n' },
  {
    rule: 'api-version',
    field: '/apiVersion',
    yaml: unit('u', spec()).replace('driftplane.io/v1alpha1', 'driftplane.io/v1 # <'),
  },
  {
    rule: 'unknown-kind',
    field: '/kind',
    kind: 'DriftManagedUnits',
    yaml: unit('u', spec()).replace('kind: DriftManagedUnit', 'kind: DriftManagedUnits # <'),
  },
  {
    rule: 'invalid-document',
    field: '',
    kind: '<no kind>',
    name: '<no name>',
    yaml: '- apiVersion: driftplane.io/v1alpha1 # <\n- kind: Team\n',
  },
  {
    rule: 'required',
    field: '/spec/owner',
    yaml: unit('u', spec({ owner: undefined })).replace('spec:', 'spec: # <'),
  },
  {
    // A missing field whose schema is a union (an instant: date or date-time) is still "required".
    rule: 'required',
    field: '/spec/approvedAt',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({ approvedAt: undefined }).replace('spec:', 'spec: # <'),
  },
  {
    rule: 'invalid-type',
    field: '/spec/policies/autoHeal',
    yaml: unit('u', spec({ policies: '\nautoHeal: "yes" # <' })),
  },
  { rule: 'invalid-value', field: '/spec/type', yaml: unit('u', spec({ type: 'helm-chart' }, 'type')) },
  { rule: 'unknown-field', field: '/spec/ownr', yaml: unit('u', spec({ ownr: 'web' }, 'ownr')) },
  {
    rule: 'invalid-format',
    field: '/metadata/name',
    name: 'Checkout_Web',
    yaml: unit('Checkout_Web # <', spec()).replace('name: Checkout_Web # <', 'name: Checkout_Web # <'),
  },
  {
    rule: 'invalid-format',
    field: '/spec/credentials/roleArn',
    yaml: unit('u', iac({ credentials: '\nroleArn: arn:aws:iam::1234:role/x # <' })),
  },
  {
    rule: 'out-of-range',
    field: '/spec/maxObjectsPerReconcile',
    kind: 'AutoHealPolicy',
    name: 'p',
    yaml: doc(
      'AutoHealPolicy',
      'p',
      '  appliesTo: {}\n  allowedPaths: [/metadata/labels]\n  maxObjectsPerReconcile: 0 # <\n',
    ),
  },
  {
    rule: 'invalid-format',
    field: '/spec/allowedPaths/0',
    kind: 'AutoHealPolicy',
    name: 'p',
    yaml: doc(
      'AutoHealPolicy',
      'p',
      '  appliesTo: {}\n  allowedPaths:\n    - metadata/labels # <\n  maxObjectsPerReconcile: 2\n',
    ),
  },
  {
    rule: 'credentials-one-role',
    field: '/spec/credentials',
    yaml: unit(
      'u',
      iac(
        {
          credentials:
            '\noidcRole: "arn:aws:iam::123456789012:role/a"\nroleArn: "arn:aws:iam::123456789012:role/b"',
        },
        'credentials',
      ),
    ),
  },
  {
    rule: 'schedule-one-of',
    field: '/spec/schedule',
    yaml: unit('u', spec({ schedule: '{ frequency: hourly, cron: "0 * * * *" }' }, 'schedule')),
  },
  {
    rule: 'state-location',
    field: '/spec/state/key',
    yaml: unit('u', iac({ state: '\nbackend: s3 # <\nbucket: b' }))
      .replace('backend: s3 # <', 'backend: s3')
      .replace('  state:', '  state: # <'),
  },
  {
    rule: 'resource-selector',
    field: '/spec/resource',
    kind: 'DriftOwnershipRule',
    name: 'r',
    yaml: doc('DriftOwnershipRule', 'r', '  resource: # <\n    group: apps\n  runtimeOwned: [/status]\n'),
  },
  {
    rule: 'auto-heal-scope',
    field: '/spec/allowedPaths',
    kind: 'AutoHealPolicy',
    name: 'p',
    yaml: doc(
      'AutoHealPolicy',
      'p',
      '  appliesTo: {}\n  allowedPaths: [] # <\n  maxObjectsPerReconcile: 2\n',
    ),
  },
  {
    rule: 'exception-expiry',
    field: '/spec/expiresAt',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({ expiresAt: undefined }).replace('spec:', 'spec: # <'),
  },
  {
    rule: 'exception-permanent-justification',
    field: '/spec/justification',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({ expiresAt: undefined, permanent: 'true', justification: 'because' }, 'justification'),
  },
  // --- cross-reference rules
  {
    rule: 'duplicate-name',
    field: '/metadata/name',
    name: 'web-prod',
    yaml: unit('web-prod # <', spec({ environment: 'prod', approvers: '[web-approvers]' })),
  },
  { rule: 'unknown-owner', field: '/spec/owner', yaml: unit('u', spec({ owner: 'nobody' }, 'owner')) },
  {
    rule: 'unknown-owner',
    field: '/spec/routes/0/match/owner',
    kind: 'RoutingPolicy',
    name: 'rp',
    yaml: doc(
      'RoutingPolicy',
      'rp',
      '  routes:\n    - match:\n        owner: ghosts # <\n      notify: [{ type: owner }]\n',
    ),
  },
  {
    rule: 'unknown-approver',
    field: '/spec/approvers/1',
    yaml: unit('u', spec({ approvers: '\n- web-approvers\n- ghost-approvers # <' })),
  },
  {
    rule: 'prod-without-approvers',
    field: '/spec/approvers',
    yaml: unit('u', spec({ environment: 'prod' })).replace('spec:', 'spec: # <'),
  },
  {
    rule: 'unknown-policy',
    field: '/spec/policies/autoHealPolicy',
    yaml: unit('u', spec({ policies: '\nautoHeal: true\nautoHealPolicy: nope # <' })),
  },
  {
    rule: 'unknown-policy',
    field: '/spec/policies/autoHealPolicy',
    yaml: unit('u', spec({ policies: '\nautoHeal: false\nautoHealPolicy: frozen # <' })),
  },
  {
    rule: 'shared-credential-role',
    field: '/spec/credentials/oidcRole',
    name: 'u2',
    yaml: `${unit('u1', iac({ credentials: '{ oidcRole: "arn:aws:iam::123456789012:role/drift-all" }' }))}---\n${unit('u2', iac({ owner: 'data', credentials: '\noidcRole: "arn:aws:iam::123456789012:role/drift-all" # <' }))}`,
  },
  {
    rule: 'shared-credential-role',
    field: '/spec/credentials/roleArn',
    name: 'u2',
    yaml: `${unit('u1', iac({ credentials: '{ roleArn: "arn:aws:iam::123456789012:role/drift-all" }' }))}---\n${unit('u2', iac({ riskTier: 'critical', credentials: '\nroleArn: "arn:aws:iam::123456789012:role/drift-all" # <' }))}`,
  },
  {
    rule: 'auto-heal-forbidden-domain',
    field: '/spec/policies/autoHeal',
    yaml: unit('u', spec({ domain: 'iam', policies: '\nautoHeal: true # <\nautoHealPolicy: safe' })),
  },
  {
    rule: 'auto-heal-forbidden-domain',
    field: '/spec/policies/autoHeal',
    yaml: unit(
      'u',
      iac({ type: 'database', domain: undefined, policies: '\nautoHeal: true # <\nautoHealPolicy: safe' }),
    ),
  },
  {
    rule: 'auto-heal-denied',
    field: '/spec/policies/autoHeal',
    yaml: unit(
      'u',
      spec({ labels: '{ frozen: "true" }', policies: '\nautoHeal: true # <\nautoHealPolicy: safe' }),
    ),
  },
  {
    rule: 'auto-heal-without-policy',
    field: '/spec/policies/autoHeal',
    yaml: unit('u', spec({ policies: '\nautoHeal: true # <' })),
  },
  {
    rule: 'approver-not-member',
    field: '/spec/approverGroups/0/members/1',
    kind: 'Team',
    name: 't',
    yaml: doc(
      'Team',
      't',
      '  members: [{ email: a@example.com }]\n  approverGroups:\n    - name: t-approvers\n      members:\n        - a@example.com\n        - z@example.com # <\n',
    ),
  },
  {
    rule: 'duplicate-approver-group',
    field: '/spec/approverGroups/0/name',
    kind: 'Team',
    name: 't',
    yaml: doc(
      'Team',
      't',
      '  members: [{ email: a@example.com }]\n  approverGroups:\n    - name: web-approvers # <\n      members: [a@example.com]\n',
    ),
  },
  {
    rule: 'duplicate-member',
    field: '/spec/members/1/email',
    kind: 'Team',
    name: 't',
    yaml: doc('Team', 't', '  members:\n    - email: a@example.com\n    - email: a@example.com # <\n'),
  },
  {
    rule: 'credentials-required',
    field: '/spec/credentials',
    yaml: unit('u', iac({ credentials: undefined })).replace('spec:', 'spec: # <'),
  },
  {
    rule: 'state-required',
    field: '/spec/state',
    yaml: unit('u', iac({ state: undefined })).replace('spec:', 'spec: # <'),
  },
  {
    rule: 'ownership-conflict',
    field: '/spec/gitOwned/0',
    kind: 'DriftOwnershipRule',
    name: 'r',
    yaml: doc(
      'DriftOwnershipRule',
      'r',
      '  resource: { group: apps, kind: Deployment }\n  gitOwned:\n    - /spec/replicas # <\n  controllerOwned:\n    - { path: /spec/replicas, owner: hpa }\n',
    ),
  },
  {
    rule: 'auto-heal-path-conflict',
    field: '/spec/allowedPaths/1',
    kind: 'AutoHealPolicy',
    name: 'p',
    yaml: doc(
      'AutoHealPolicy',
      'p',
      '  appliesTo: {}\n  allowedPaths:\n    - /metadata/labels\n    - /metadata/annotations # <\n  deniedPaths: [/metadata/annotations]\n  maxObjectsPerReconcile: 2\n',
    ),
  },
  {
    rule: 'unknown-unit',
    field: '/spec/scope/unit',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({ scope: '\n    unit: ghost # <\n    kind: ConfigMap' }).replace(
      'approvedBy: ann@example.com',
      'approvedBy: ann@example.com',
    ),
  },
  {
    rule: 'unknown-unit',
    field: '/spec/appliesTo/units/names/0',
    kind: 'AutoHealPolicy',
    name: 'p',
    yaml: doc(
      'AutoHealPolicy',
      'p',
      '  appliesTo:\n    units:\n      names:\n        - ghost # <\n  allowedPaths: [/metadata/labels]\n  maxObjectsPerReconcile: 2\n',
    ),
  },
  {
    rule: 'team-unreachable',
    field: '/spec/routes/0/notify/0/team',
    kind: 'RoutingPolicy',
    name: 'rp',
    yaml: doc(
      'RoutingPolicy',
      'rp',
      '  routes:\n    - notify:\n        - type: team\n          team: data # <\n',
    ),
  },
  {
    rule: 'route-shadowed',
    severity: 'warning',
    field: '/spec/routes/1',
    kind: 'RoutingPolicy',
    name: 'rp',
    yaml: doc(
      'RoutingPolicy',
      'rp',
      '  routes:\n    - notify: [{ type: owner }]\n    - match: { severity: critical } # <\n      notify: [{ type: owner }]\n',
    ),
  },
  {
    rule: 'duplicate-budget',
    field: '/spec/domain',
    kind: 'DriftBudget',
    name: 'b2',
    yaml: `${doc('DriftBudget', 'b1', '  domain: cost\n  environment: dev\n  maxUnclassified: 1\n  maxAge: 7d\n  detectionInterval: 1d\n')}---\n${doc('DriftBudget', 'b2', '  domain: cost # <\n  environment: dev\n  maxUnclassified: 1\n  maxAge: 7d\n  detectionInterval: 1d\n')}`,
  },
  {
    rule: 'budget-inconsistent',
    field: '/spec/maxAge',
    kind: 'DriftBudget',
    name: 'b',
    yaml: doc(
      'DriftBudget',
      'b',
      '  domain: cost\n  environment: dev\n  maxUnclassified: 1\n  maxAge: 1h # <\n  detectionInterval: 1d\n',
    ),
  },
  {
    rule: 'schedule-exceeds-budget',
    field: '/spec/schedule/frequency',
    yaml: `${doc('DriftBudget', 'b', '  domain: app\n  environment: staging\n  maxUnclassified: 1\n  maxAge: 1h\n  detectionInterval: 15m\n')}---\n${unit('u', spec({ schedule: '\nfrequency: daily # <' }))}`,
  },
  {
    rule: 'exception-approver',
    field: '/spec/approvedBy',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({ approvedBy: 'bob@example.com' }, 'approvedBy'),
  },
  // --- ignore-rule lint (§14.1) and the exception clock
  {
    rule: 'ignore-sensitive-path',
    field: '/spec/runtimeOwned/0',
    kind: 'DriftOwnershipRule',
    name: 'r',
    yaml: doc(
      'DriftOwnershipRule',
      'r',
      '  resource: { group: apps, kind: Deployment }\n  runtimeOwned:\n    - /spec/template/spec/containers # <\n',
    ),
  },
  {
    rule: 'ignore-sensitive-path',
    field: '/spec/controllerOwned/0/path',
    kind: 'DriftOwnershipRule',
    name: 'r',
    yaml: doc(
      'DriftOwnershipRule',
      'r',
      '  resource: { group: "", kind: ServiceAccount }\n  controllerOwned:\n    - path: /metadata/annotations/eks.amazonaws.com~1role-arn # <\n      owner: irsa-webhook\n',
    ),
  },
  {
    rule: 'ignore-sensitive-path',
    field: '/spec/paths/0',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({ paths: '\n    - /spec/template/spec/containers/0/image # <' }),
  },
  {
    rule: 'ignore-sensitive-path',
    field: '/spec/paths/0/path',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({
      paths:
        '\n    - path: /ingress/0/cidr_blocks # <\n      acknowledged: { reason: "partner VPN rotation, reconciled within a day", categories: [identity] }',
      compensatingDetector: 'aws-config',
    }),
  },
  {
    rule: 'ignore-whole-object',
    field: '/spec/runtimeOwned/0/path',
    kind: 'DriftOwnershipRule',
    name: 'r',
    yaml: doc(
      'DriftOwnershipRule',
      'r',
      '  resource: { kind: ConfigMap }\n  runtimeOwned:\n    - path: / # <\n      acknowledged: { reason: "this config map is written by a controller" }\n',
    ),
  },
  {
    rule: 'sensitive-without-detector',
    field: '/spec/paths',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({
      paths:
        '# <\n    - path: /spec/template/spec/securityContext\n      acknowledged: { reason: "the vendor operator sets fsGroup at runtime" }',
    }),
  },
  {
    rule: 'exception-permanent-sensitive',
    field: '/spec/permanent',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception(
      {
        expiresAt: undefined,
        permanent: 'true',
        justification: 'the vendor operator owns this field forever',
        compensatingDetector: 'kyverno audit',
        paths:
          '\n    - path: /spec/template/spec/serviceAccountName\n      acknowledged: { reason: "the vendor operator rotates its service account" }',
      },
      'permanent',
    ),
  },
  {
    rule: 'exception-broad-scope',
    severity: 'warning',
    field: '/spec/scope',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({ scope: '{ unit: web-prod }' }, 'scope'),
  },
  {
    rule: 'exception-approved-in-future',
    field: '/spec/approvedAt',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({ approvedAt: '2026-12-01', expiresAt: '2027-01-15' }, 'approvedAt'),
  },
  {
    rule: 'exception-too-long',
    field: '/spec/expiresAt',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({ approvedAt: '2026-11-01', expiresAt: '2027-02-01' }, 'expiresAt'),
  },
  {
    rule: 'exception-too-long',
    field: '/spec/expiresAt',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({ approvedAt: '2026-11-01', expiresAt: '2026-10-01' }, 'expiresAt'),
  },
  {
    rule: 'exception-expired',
    severity: 'warning',
    field: '/spec/expiresAt',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({ approvedAt: '2026-09-01', expiresAt: '2026-11-20' }, 'expiresAt'),
  },
  {
    rule: 'exception-expiring',
    severity: 'warning',
    field: '/spec/expiresAt',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({ approvedAt: '2026-09-01', expiresAt: '2026-11-28T00:00:00Z' }, 'expiresAt'),
  },
  {
    rule: 'invalid-format',
    field: '/spec/expiresAt',
    kind: 'DriftException',
    name: 'exc',
    yaml: exception({ expiresAt: '"next spring"' }, 'expiresAt'),
  },
];

describe('registry negative cases: one per rule, with file:line and field', () => {
  it('has 30 or more cases covering distinct rules', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(new Set(cases.map((c) => c.rule)).size).toBeGreaterThanOrEqual(30);
  });

  it.each(cases.map((c, i) => [`${i} ${c.rule} ${c.field}`, c] as const))('%s', async (_title, c) => {
    const dir = writeRegistry({ 'base.yaml': baseRegistry, 'cases/case.yaml': c.yaml });
    const result = await loadRegistry(dir, { now: c.now ?? testNow });
    const file = path.join(dir, 'cases', 'case.yaml');
    const line = markedLine(c.yaml);
    const severity = c.severity ?? 'error';
    const issues = severity === 'error' ? (result.ok ? [] : result.errors) : result.warnings;
    if (severity === 'error') expect(result.ok).toBe(false);
    // Nothing else is wrong with the registry: every error comes from the rule under test.
    const others = (result.ok ? [] : result.errors).filter((e) => e.rule !== c.rule);
    expect(others.map((e) => formatIssue(e))).toEqual([]);
    const hit = issues.find((i) => i.rule === c.rule && i.line === line);
    expect(
      hit,
      `no ${c.rule} at line ${line}; got ${issues.map((i) => formatIssue(i)).join(' | ')}`,
    ).toBeDefined();
    if (!hit) return;
    expect(hit.file).toBe(file);
    expect(hit.severity).toBe(severity);
    if (c.rule !== 'yaml-syntax') {
      expect(hit.field).toBe(c.field);
      expect(hit.kind).toBe(c.kind ?? 'DriftManagedUnit');
      expect(hit.name).toBe(c.name ?? 'u');
    }
    const text = formatIssue(hit);
    expect(text.startsWith(`${file}:${line}:${hit.column}`)).toBe(true);
    if (c.field) expect(text).toContain(` ${c.field}: ${severity} [${c.rule}] `);
    expect(hit.message.length).toBeGreaterThan(10);
  });

  it('reports every problem of every file in one run, and returns no partial registry', async () => {
    const dir = writeRegistry({
      'base.yaml': baseRegistry,
      'a.yaml': unit('a', spec({ owner: 'nobody' })),
      'sub/b.yaml': unit('b', spec({ type: 'helm-chart', ownr: 'x' })),
      'sub/deeper/c.yml': 'kind: Team\n  bad: [\n',
    });
    const result = await loadRegistry(dir, { now: testNow });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result).not.toHaveProperty('registry');
    const rules = result.errors.map((e) => `${path.relative(dir, e.file)}:${e.line} ${e.rule}`);
    expect(rules.slice(0, 3)).toEqual([
      'a.yaml:7 unknown-owner',
      'sub/b.yaml:6 invalid-value',
      'sub/b.yaml:12 unknown-field',
    ]);
    expect(rules.slice(3).length).toBeGreaterThan(0);
    for (const r of rules.slice(3)) expect(r).toMatch(/^sub\/deeper\/c\.yml:\d+ yaml-syntax$/);
  });

  it('reports a missing folder and an empty folder as errors', async () => {
    const missing = await loadRegistry('/nonexistent/registry');
    expect(missing).toMatchObject({
      ok: false,
      errors: [{ rule: 'registry-not-found', file: '/nonexistent/registry' }],
    });
    const empty = await loadRegistry(writeRegistry({ 'README.md': '# not yaml' }));
    expect(empty).toMatchObject({ ok: false, errors: [{ rule: 'registry-empty' }] });
  });

  it('suggests the field a typo meant', async () => {
    const dir = writeRegistry({ 'base.yaml': baseRegistry, 'u.yaml': unit('u', spec({ ownr: 'web' })) });
    const result = await loadRegistry(dir, { now: testNow });
    expect(result.ok ? [] : result.errors.map((e) => e.message)).toContainEqual(
      expect.stringContaining('did you mean owner?'),
    );
  });
});
