import { describe, expect, it } from 'vitest';
import { importBlock, importCommandHint, movedBlock } from '../../../domain/reconcile/hcl';
import { mdCode, mdText } from '../../../domain/reconcile/markdown';
import { isSecretPath, renderPrBody, rollbackPlan, type PrBodyContext } from '../../../domain/reconcile/pr-body';
import { expectGolden } from './golden';

/** §23's example: emergency drift accepted into Git, tied to INC-9127, expiring. */
const emergency: PrBodyContext = {
  findingId: 'prod-eu-west-1-network:9f3c2a7d41be0c55',
  environment: 'prod',
  owner: 'platform-network',
  unit: 'prod-eu-west-1-network',
  resourceRef: 'aws_security_group.app_public',
  resourceType: 'aws_security_group',
  action: 'OPEN_RECONCILIATION_PR',
  driftClass: 'EMERGENCY_DRIFT',
  risk: 'HIGH',
  summary: 'Accepted emergency drift from INC-9127.',
  rules: [
    { ruleId: 'break-glass-with-incident', why: 'actor is a break-glass role and INC-9127 is open' },
    { ruleId: 'network-exposure', why: 'ingress widened on a public security group' },
  ],
  fields: [
    { path: '/ingress/2/cidr_blocks', kind: 'added', actual: ['198.51.100.0/24'] },
    { path: '/description', kind: 'changed', desired: 'app | public', actual: 'app `public` <b>LB</b>' },
    { path: '/tags/api_key', kind: 'changed', desired: 'abc', actual: 'def' },
  ],
  auditCorrelation: {
    actor: { id: 'arn:aws:sts::111122223333:assumed-role/acme-break-glass/noah.fischer', type: 'break-glass' },
    source: 'cloudtrail',
    eventName: 'AuthorizeSecurityGroupIngress',
    eventTime: '2026-07-03T02:14:09Z',
  },
  acceptance: {
    reason: 'Runtime change restored customer traffic during regional LB incident.',
    approvers: ['noah.fischer@acme.example', 'marco.bianchi@acme.example'],
  },
  proposedChange: {
    summary: 'This PR updates the declared ingress rule to match the approved temporary production state.',
    files: ['network/prod-eu-west-1/security-groups.tf'],
    manual: [
      {
        attribute: 'aws_security_group.app_public.ingress',
        value: ['198.51.100.0/24'],
        why: 'aws_security_group.app_public.ingress is a nested block, not an attribute',
        file: 'network/prod-eu-west-1/security-groups.tf',
      },
    ],
  },
  policy: {
    autoHealAllowed: false,
    refusals: ['domain network never auto-heals', 'risk HIGH is above the unit maximum LOW'],
    policyVersion: 'sha256:5be1c0de',
  },
  riskNotes: ['One security group; attached to the public ALB of checkout.'],
  expiry: { expiresAt: '2026-07-10', incidentId: 'INC-9127', removeWhen: 'after vendor remediation' },
  evidence: {
    auditEvent: 'cloudtrail://event/5a1e9c2e-77b1-4d3c-9f0e-2b8d1e6f4a10',
    driftPlan: 's3://platform-evidence/prod-eu-west-1-network/9f3c2a7d41be0c55/plan.json',
    evidenceUri: 's3://platform-evidence/prod-eu-west-1-network/9f3c2a7d41be0c55/',
    temporalUiUrl: 'http://localhost:8233/namespaces/default/workflows/finding:prod-eu-west-1-network:9f3c2a7d41be0c55',
  },
  reviewers: ['@acme/platform-network', 'marco.bianchi@acme.example'],
};

const importCtx: PrBodyContext = {
  findingId: 'prod-eu-west-1-compute:41d2be7790aa13f0',
  environment: 'prod',
  owner: 'platform-compute',
  unit: 'prod-eu-west-1-compute',
  resourceRef: 'aws_instance.batch_worker',
  resourceType: 'aws_instance',
  action: 'IMPORT',
  driftClass: 'STATE_DRIFT',
  risk: 'MEDIUM',
  rules: [{ ruleId: 'unmanaged-resource', why: 'the instance exists but no state entry tracks it' }],
  fields: [{ path: '/', kind: 'added', actual: { id: 'i-0abc1234def567890', instance_type: 't3.large' } }],
  acceptance: { reason: 'The batch worker is standard capacity and must be managed in Git.', approvers: ['kenji.sato@acme.example'] },
  proposedChange: {
    summary: 'This PR brings the existing instance under OpenTofu control with an import block.',
    files: ['compute/prod-eu-west-1/imports.tf'],
    instructions: importCommandHint('compute/prod-eu-west-1'),
  },
  policy: { autoHealAllowed: false, refusals: ['IMPORT is never automatic'] },
  rollback: { importAddress: 'aws_instance.batch_worker', dir: 'compute/prod-eu-west-1' },
  evidence: { evidenceUri: 's3://platform-evidence/prod-eu-west-1-compute/41d2be7790aa13f0/' },
  reviewers: ['@acme/platform-compute'],
};

const ignoreCtx: PrBodyContext = {
  findingId: 'checkout-web-prod:0123456789abcdef',
  environment: 'prod',
  owner: 'checkout',
  unit: 'checkout-web-prod',
  resourceRef: 'Deployment/checkout/checkout-web',
  resourceType: 'Deployment',
  action: 'IGNORE',
  driftClass: 'CONTROLLER_OWNED_DRIFT',
  risk: 'LOW',
  summary: 'The release tooling owns the tier label.',
  rules: [{ ruleId: 'metadata-only', why: 'only a label differs' }],
  fields: [{ path: '/metadata/labels/tier', kind: 'changed', desired: 'standard', actual: 'gold' }],
  acceptance: { reason: 'The release tooling stamps the tier label during rollout.', approvers: ['maria.lopez@acme.example'] },
  proposedChange: {
    summary: 'This PR adds a DriftException for /metadata/labels/tier of Deployment checkout/checkout-web, expiring in 30 days.',
    files: ['registry/exceptions/checkout-web-prod-0123456789abcdef.yaml'],
  },
  policy: { autoHealAllowed: false, refusals: ['unit checkout-web-prod has autoHeal: false'] },
  rollback: { exceptionFile: 'registry/exceptions/checkout-web-prod-0123456789abcdef.yaml' },
  expiry: { expiresAt: '2026-12-31T10:00:00Z' },
  evidence: {},
  reviewers: [],
};

describe('renderPrBody: the §23 reconciliation PR', () => {
  it.each([
    ['emergency-drift.md', emergency],
    ['import.md', importCtx],
    ['ignore.md', ignoreCtx],
  ])('matches the golden file %s', (file, ctx) => {
    expectGolden(file, renderPrBody(ctx));
  });

  it('has the §23 sections in order, and Expiration only with an expiry', () => {
    const body = renderPrBody(emergency);
    const order = [
      '## Drift Reconciliation',
      'Finding: `prod-eu-west-1-network:9f3c2a7d41be0c55`',
      'Environment: prod',
      'Owner: platform-network',
      'Resource: `aws_security_group.app_public`',
      '### Classification',
      '### Detected fields',
      '### Audit correlation',
      '### Proposed Desired-State Update',
      '### Policy evaluation',
      '### Risk and rollback',
      '### Expiration',
      '### Evidence',
      '### Reviewers',
    ];
    const at = order.map((s) => body.indexOf(s));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(renderPrBody(importCtx)).not.toContain('### Expiration');
    expect(body).toContain('This change expires on 2026-07-10 and must be removed after vendor remediation. It is tied to INC-9127.');
    expect(body).toContain('- Incident: INC-9127');
  });

  it('redacts a secret-looking path even when upstream did not', () => {
    const body = renderPrBody(emergency);
    const row = body.split('\n').find((l) => l.includes('/tags/api_key'));
    expect(row).toBe('| `/tags/api_key` | changed | `[REDACTED]` | `[REDACTED]` |');
    expect(body).not.toContain('"def"');
  });

  it('keeps hostile values inside their table cell and code span', () => {
    const body = renderPrBody(emergency);
    const row = body.split('\n').find((l) => l.includes('/description')) as string;
    // Four cells: the `|` of the value is escaped, and no raw `<b>` reaches the page outside a code span.
    expect(row.split(/(?<!\\)\|/).length - 2).toBe(4);
    expect(row).toContain('`"app \\| public"`');
    expect(row).toContain('``"app `public` <b>LB</b>"``');
  });

  it('escapes prose so a reason cannot inject a heading, a link or HTML', () => {
    const ctx: PrBodyContext = {
      ...ignoreCtx,
      acceptance: { reason: '# Approved\n[click](https://evil.example) <img src=x onerror=alert(1)> | *x*', approvers: ['a\u202eb'] },
    };
    const body = renderPrBody(ctx);
    expect(body).toContain('\\# Approved');
    expect(body).toContain('\\[click\\](https://evil.example) \\<img src=x onerror=alert(1)\\> \\| \\*x\\*');
    expect(body).toContain('Approved by: a\\\\u202eb');
    expect(body).not.toMatch(/^# /m);
  });

  it.each([
    ['IMPORT', { importAddress: 'aws_instance.web', dir: 'infra' }, "`tofu -chdir=infra state rm 'aws_instance.web'`"],
    ['STATE_MOVE', { moved: { from: 'aws_instance.old', to: 'aws_instance.new' } }, '`moved { from = aws_instance.new  to = aws_instance.old }`'],
    ['IGNORE', { exceptionFile: 'exceptions/x.yaml' }, 'Delete the exception `exceptions/x.yaml`'],
    ['OPEN_RECONCILIATION_PR', {}, "Revert this PR's merge commit"],
    ['MIGRATION_PLAN', {}, 'never auto-applies'],
  ] as const)('the rollback plan of %s says how to undo it', (action, details, expected) => {
    expect(rollbackPlan(action, details).join('\n')).toContain(expected);
  });

  it.each([
    ['/tags/api_key', 'aws_instance', true],
    ['/data/password', 'ConfigMap', true],
    ['/data/TOKEN', 'Secret', true],
    ['/stringData/anything', 'Deployment', true],
    ['/metadata/labels/tier', 'Deployment', false],
    ['/ingress/0/cidr_blocks', 'aws_security_group', false],
  ])('isSecretPath(%s, %s) is %s', (p, type, secret) => {
    expect(isSecretPath(p, type)).toBe(secret);
  });

  it('is deterministic', () => {
    expect(renderPrBody(emergency)).toBe(renderPrBody(structuredClone(emergency)));
  });
});

describe('markdown helpers', () => {
  it.each([
    ['plain', 'plain'],
    ['a|b', 'a\\|b'],
    ['<script>', '\\<script\\>'],
    ['`x`', '\\`x\\`'],
    // visible() turns the newline into `\n`, whose backslash Markdown must then show literally.
    ['line\nbreak', 'line\\\\nbreak'],
  ])('mdText(%j)', (input, out) => {
    expect(mdText(input)).toBe(out);
  });

  it.each([
    ['a', '`a`'],
    ['a`b', '``a`b``'],
    ['`x', '`` `x ``'],
    ['', '` `'],
  ])('mdCode(%j)', (input, out) => {
    expect(mdCode(input)).toBe(out);
  });

  it('import and moved blocks used in PR bodies render as OpenTofu blocks', () => {
    expect(importBlock({ to: 'aws_instance.web', id: 'i-1' })).toContain('to = aws_instance.web');
    expect(movedBlock({ from: 'a.b', to: 'a.c' })).toContain('to   = a.c');
  });
});
