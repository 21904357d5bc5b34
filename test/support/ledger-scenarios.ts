/**
 * Evidence for the ledger tests: four realistic chains written through a real EvidenceStore, in the
 * shapes the lifecycle and hotfix activities write (activities/lifecycle, activities/hotfix), with
 * fixed times so the tests can assert hand-checked values.
 *   (a) an auto-healed drift: detected → classified → routed → approval (auto-heal) → reconciled → verified-1 → closed RECONCILED
 *   (b) an approved one: two people approve (quorum 2) after an escalation, a PR is opened and merged, verified on the 2nd try
 *   (c) an open one waiting for approval (CRITICAL, an incident opened, escalated once)
 *   (d) a hotfix window: opened for 4h, a finding attached and resolved, extended once, closed
 */
import type { EvidenceStore } from '../../evidence/evidence-store';
import type { SqlDb } from '../../ledger/db';

export const A = { findingId: 'finding:web-prod:8f1c2a3b4d5e6f70', runId: 'run-a-0001' };
export const B = { findingId: 'finding:iam-prod:0a1b2c3d4e5f6071', runId: 'run-b-0001' };
export const C = { findingId: 'finding:net-prod:77aa88bb99cc00dd', runId: 'run-c-0001' };
export const D = { findingId: 'hotfix:payments-prod:INC-7', runId: 'run-d-0001' };

/** One append as the activities make it (key = `<run>:<step>`). */
export interface Append {
  findingId: string;
  runId: string;
  key: string;
  step: string;
  at: string;
  data: unknown;
}

const step = (ids: { findingId: string; runId: string }, name: string, at: string, data: unknown): Append => ({ ...ids, key: `${ids.runId}:${name}`, step: name, at, data });

const decision = (over: Record<string, unknown>) => ({
  driftClass: 'RUNTIME_DRIFT',
  risk: 'LOW',
  recommendedAction: 'RUNTIME_REVERT',
  autoHealAllowed: false,
  owner: 'web',
  environment: 'prod',
  reasons: [{ ruleId: 'default', why: 'no other rule matched' }],
  policyVersion: 'registry@3f2a1c9',
  ...over,
});

const route = (over: Record<string, unknown> = {}) => ({
  approvers: [{ email: 'bob@acme.example', names: ['bob'] }],
  notify: ['team:web'],
  createIncident: false,
  approvalTimeout: '4h',
  maxEscalations: 2,
  verifyInterval: '30s',
  verifyAttempts: 3,
  maxReasonBytes: 2048,
  ...over,
});

/** (a) auto-healed: MTTC 45 s (detectedAt 10:00:00 → classified 10:00:45), MTTR 81 s. */
export const SCENARIO_A: Append[] = (() => {
  const d = decision({ driftClass: 'STATELESS_METADATA', autoHealAllowed: true, domain: 'compute', reasons: [{ ruleId: 'stateless-metadata', why: 'an annotation on a stateless object' }, { ruleId: 'auto-heal-bounds', why: 'within maxObjectsPerReconcile 5' }] });
  return [
    step(A, 'detected', '2027-03-01T10:00:05.000Z', {
      observation: {
        unit: 'web-prod',
        resourceRef: 'Deployment/web/api',
        resourceType: 'Deployment',
        relationship: 'desired!=actual',
        changeType: 'modified',
        changedFields: ['/metadata/annotations/team', '/spec/replicas'],
        diff: [
          { path: '/metadata/annotations/team', kind: 'changed', desired: 'web', actual: 'ops' },
          { path: '/spec/replicas', kind: 'changed', desired: 3, actual: 2 },
        ],
        detectedAt: '2027-03-01T10:00:00.000Z',
        detector: 'kubernetes',
        auditCorrelation: { actor: { id: 'alice@acme.example', type: 'human' }, source: 'kube-audit', eventTime: '2027-03-01T09:58:12.000Z', eventName: 'patch' },
      },
    }),
    step(A, 'classified', '2027-03-01T10:00:45.000Z', { decision: d }),
    step(A, 'routed', '2027-03-01T10:00:46.000Z', { route: route(), incident: false }),
    step(A, 'approval', '2027-03-01T10:00:47.000Z', { kind: 'auto-heal', decision: d }),
    step(A, 'reconciled', '2027-03-01T10:00:50.000Z', { action: 'RUNTIME_REVERT', executed: true, detail: 'reverted Deployment/web/api to desired (2 fields)', approvedBy: 'policy' }),
    step(A, 'verified-1', '2027-03-01T10:01:20.000Z', { clean: true, detail: 'Deployment/web/api matches desired state' }),
    step(A, 'closed', '2027-03-01T10:01:21.000Z', { outcome: 'RECONCILED', escalations: 0, detections: 1 }),
  ];
})();

const PR = { provider: 'github', repo: 'acme/iam-live', number: 42, url: 'https://github.com/acme/iam-live/pull/42', branch: 'driftplane/iam-prod-0a1b2c3d', commit: '4b825dc642cb6eb9a060e54bf8d69288fbee4904' };

/** (b) approved by two people (carol via cli, then bob via slack), PR #42 opened then merged, verified clean on the 2nd attempt; a regression after a provider upgrade. */
export const SCENARIO_B: Append[] = (() => {
  const d = decision({ driftClass: 'IDENTITY_DRIFT', risk: 'HIGH', recommendedAction: 'BACKPORT_TO_CODE', owner: 'platform-security', domain: 'iam', reasons: [{ ruleId: 'identity-change', why: 'an IAM policy document changed' }, { ruleId: 'regression-reopened', why: 'reopened within 7d of RECONCILED' }] });
  const carol = { answer: 'approved', approver: 'carol@acme.example', reason: 'matches the change request', via: 'cli', at: '2027-03-02T09:20:00.000Z', authenticated: false };
  const bob = { answer: 'approved', approver: 'bob@acme.example', reason: 'second approval', via: 'slack', at: '2027-03-02T09:31:00.000Z', authenticated: false };
  return [
    step(B, 'detected', '2027-03-02T08:00:02.000Z', {
      observation: {
        unit: 'iam-prod',
        resourceRef: 'aws_iam_role_policy.deployer',
        resourceType: 'aws_iam_role_policy',
        relationship: 'recorded!=actual',
        changeType: 'modified',
        changedFields: ['/policy'],
        diff: [{ path: '/policy', kind: 'changed' }],
        detectedAt: '2027-03-02T08:00:00.000Z',
        detector: 'tofu-plan',
        auditCorrelation: { actor: { id: 'arn:aws:sts::123456789012:assumed-role/BreakGlass/dave', type: 'break-glass' }, source: 'cloudtrail', eventTime: '2027-03-02T07:41:00.000Z', eventName: 'PutRolePolicy' },
        regression: { previousRunId: 'run-b-0000', previousOutcome: 'RECONCILED', closedAt: '2027-02-27T12:00:00.000Z' },
        context: { providerUpgrade: { from: 'hashicorp/aws 5.40.0', to: 'hashicorp/aws 5.41.0' } },
      },
    }),
    step(B, 'classified', '2027-03-02T08:02:00.000Z', { decision: d }),
    step(B, 'routed', '2027-03-02T08:02:01.000Z', { route: route({ requiredApprovals: 2, approvers: [{ email: 'bob@acme.example' }, { email: 'carol@acme.example' }] }), incident: false }),
    step(B, 'escalated-1', '2027-03-02T09:02:01.000Z', { level: 1, after: '1h' }),
    step(B, 'approval', '2027-03-02T09:31:01.000Z', { kind: 'person', answer: bob, decision: d, approvals: [carol, bob], required: 2 }),
    step(B, 'reconciled', '2027-03-02T09:31:30.000Z', { action: 'BACKPORT_TO_CODE', executed: true, detail: 'opened PR #42 on acme/iam-live', approvedBy: 'bob@acme.example', pr: { ...PR, created: true } }),
    step(B, 'pr-42-merged', '2027-03-02T11:00:00.000Z', { pr: { ...PR, state: 'open', openedAt: '2027-03-02T09:31:29.000Z' }, event: { number: 42, merged: true, by: 'carol', at: '2027-03-02T10:59:58.000Z', via: 'github-webhook', mergeCommit: 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391' } }),
    step(B, 'verified-1', '2027-03-02T11:00:30.000Z', { clean: false, detail: 'aws_iam_role_policy.deployer still differs at /policy' }),
    step(B, 'verified-2', '2027-03-02T11:01:00.000Z', { clean: true, detail: 'aws_iam_role_policy.deployer matches desired state' }),
    step(B, 'closed', '2027-03-02T11:01:01.000Z', { outcome: 'RECONCILED', escalations: 1, detections: 1 }),
  ];
})();

/** (c) open, waiting for approval: CRITICAL network exposure, an incident opened at routing, escalated once. */
export const SCENARIO_C: Append[] = (() => {
  const d = decision({ driftClass: 'SECURITY_EXPOSURE', risk: 'CRITICAL', recommendedAction: 'INCIDENT_AND_REVERT', owner: 'network', domain: 'network', reasons: [{ ruleId: 'public-ingress', why: '0.0.0.0/0 on port 22' }] });
  return [
    step(C, 'detected', '2027-03-03T07:15:01.000Z', {
      observation: {
        unit: 'net-prod',
        resourceRef: 'aws_security_group.bastion',
        resourceType: 'aws_security_group',
        relationship: 'desired!=actual',
        changeType: 'modified',
        changedFields: ['/ingress/0/cidr_blocks'],
        diff: [{ path: '/ingress/0/cidr_blocks', kind: 'changed', desired: ['10.0.0.0/8'], actual: ['0.0.0.0/0'] }],
        detectedAt: '2027-03-03T07:15:00.000Z',
        detector: 'tofu-plan',
      },
    }),
    step(C, 'classified', '2027-03-03T07:15:09.500Z', { decision: d }),
    step(C, 'routed', '2027-03-03T07:15:10.000Z', { route: route({ createIncident: true, approvers: [{ email: 'erin@acme.example' }] }), incident: true }),
    step(C, 'incident-opened', '2027-03-03T07:15:11.000Z', { adapter: 'pagerduty', incidentId: 'PD-Q1W2E3', url: 'https://acme.pagerduty.com/incidents/PD-Q1W2E3', created: true }),
    step(C, 'escalated-1', '2027-03-03T11:15:10.000Z', { level: 1, after: '4h' }),
  ];
})();

/** (d) a hotfix window: opened 12:00 for 4h (deadline 16:00), one finding attached and resolved by PR, extended to 18:00, closed at 15:30. */
export const SCENARIO_D: Append[] = [
  step(D, 'opened', '2027-03-04T12:00:00.000Z', { unit: 'payments-prod', incident: 'INC-7', window: '4h', actors: ['arn:aws:iam::123456789012:role/BreakGlass'], actorPersons: [], openedBy: 'frank@acme.example', reason: 'payments outage', maxExtensions: 1 }),
  step(D, 'attached-finding:payments-prod:1122334455667788', '2027-03-04T12:10:00.000Z', { findingId: 'finding:payments-prod:1122334455667788', resourceRef: 'aws_lb_listener.api', actor: 'arn:aws:iam::123456789012:role/BreakGlass', driftClass: 'EMERGENCY_DRIFT', risk: 'HIGH', detectedAt: '2027-03-04T12:09:00.000Z' }),
  step(D, 'reminder-0-50', '2027-03-04T14:00:00.000Z', { percent: 50, deadline: '2027-03-04T16:00:00.000Z', unresolved: ['finding:payments-prod:1122334455667788'] }),
  step(D, 'extended-1', '2027-03-04T14:30:00.000Z', { by: 'gina@acme.example', reason: 'fix still rolling out', duration: '2h', deadline: '2027-03-04T18:00:00.000Z' }),
  step(D, 'resolved-finding:payments-prod:1122334455667788', '2027-03-04T15:00:00.000Z', { findingId: 'finding:payments-prod:1122334455667788', resolution: 'pr', reference: 'https://github.com/acme/payments/pull/7', by: 'frank@acme.example', reason: 'back-ported' }),
  step(D, 'closed', '2027-03-04T15:30:00.000Z', { by: 'frank@acme.example', reason: 'incident resolved', at: '2027-03-04T15:30:00.000Z', outcome: 'closed', findings: [{ findingId: 'finding:payments-prod:1122334455667788' }], extensions: [{ by: 'gina@acme.example' }] }),
];

/** Every scenario, in the order they are written. */
export const ALL_SCENARIOS: Append[][] = [SCENARIO_A, SCENARIO_B, SCENARIO_C, SCENARIO_D];

/** Appends every scenario's records to `store`, chain by chain. */
export async function writeScenarios(store: EvidenceStore): Promise<void> {
  for (const chain of ALL_SCENARIOS) for (const a of chain) await store.append(a);
}

/** The tables the lifecycle projection writes, with their keys (for ordered snapshots). */
export const LIFECYCLE_TABLES: Record<string, string> = {
  lifecycles: 'finding_id, run_id',
  lifecycle_steps: 'finding_id, run_id, step',
  approvals: 'finding_id, run_id, step, approver',
  hotfix_windows: 'window_id, run_id',
};

/** Every row of the four lifecycle tables, ordered by key, timestamps as ISO strings: comparable with toEqual. */
export async function snapshotLifecycleTables(db: SqlDb): Promise<Record<string, Record<string, unknown>[]>> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const [table, keys] of Object.entries(LIFECYCLE_TABLES)) {
    const rows = await db.query<Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY ${keys}`);
    out[table] = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v])));
  }
  return out;
}

/** Deletes every row of the four lifecycle tables. */
export async function clearLifecycleTables(db: SqlDb): Promise<void> {
  for (const t of Object.keys(LIFECYCLE_TABLES)) await db.query(`DELETE FROM ${t}`);
}
