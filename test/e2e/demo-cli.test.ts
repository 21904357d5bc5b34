import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../support/shared-fixtures';

const run = promisify(execFile);
const bin = path.join(repoRoot, 'bin', 'driftplane.cjs');
let env: NodeJS.ProcessEnv;

/** Runs the real `driftplane` binary; resolves with its exit code instead of throwing. */
async function driftplane(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env, cwd: repoRoot, timeout: 180_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

interface DemoJson {
  findings: {
    findingId: string;
    stage: string;
    outcome: string;
    evidencePath: string;
    driftClass: string;
    risk: string;
    approvedBy: string;
    stages: string[];
    resourceRef: string;
    detector: string;
    changedBy?: { actor: string; source: string; eventName?: string };
    reconcileDetail?: string;
  }[];
  refusedApprovals: { as: string; why: string }[];
  slackAnswers?: { findingId: string; slackUserId: string; status: number }[];
  hotfix?: { windowId: string; state: string; attached: string[]; finding: DemoJson['findings'][number] & { recommendedAction: string; autoHealAllowed: boolean } };
  prs?: { findingId: string; number: number; repo: string; branch: string; commit: string; bodyPath?: string; state: string; url: string }[];
}
let demo: DemoJson;

beforeAll(async () => {
  const home = await mkdtemp(path.join(os.tmpdir(), 'driftplane-e2e-'));
  env = { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), DRIFTPLANE_HOME: home, DRIFTPLANE_TASK_QUEUE: `e2e-${path.basename(home)}`, DRIFTPLANE_VERIFY_INTERVAL: '1s' };
  const r = await driftplane('demo', '--json', '--no-keep-running');
  expect(r.stderr).not.toMatch(/^error:/m);
  expect(r.code).toBe(0);
  demo = JSON.parse(r.stdout) as DemoJson;
});

describe('driftplane demo, then the lifecycle commands, through the CLI', () => {
  it('drives every finding through all six stages to a verified close, with evidence on disk', () => {
    expect(demo.findings).toHaveLength(3);
    for (const f of demo.findings) {
      expect(f.stage).toBe('closed');
      expect(f.outcome).toBe('RECONCILED');
      expect(f.stages).toEqual(['detect', 'classify', 'route', 'approve', 'reconcile', 'verify', 'closed']);
      expect(existsSync(f.evidencePath)).toBe(true);
      expect(readdirSync(f.evidencePath).filter((n) => n.endsWith('.json')).length).toBeGreaterThanOrEqual(7);
    }
    const prod = demo.findings.find((f) => f.findingId.startsWith('checkout-web-prod:'))!;
    expect(prod.approvedBy).toBe('maria.lopez@acme.example');
    expect(demo.refusedApprovals).toEqual([
      expect.objectContaining({ as: 'dave.kim@acme.example', why: expect.stringMatching(/not an approver/) }),
      expect.objectContaining({ as: 'elena.rossi@acme.example', why: expect.stringMatching(/caused this drift/) }),
    ]);
  });

  it('detects the out-of-band security-group change in the moto sandbox account through the AWS inventory scan, and reverts it', () => {
    const aws = demo.findings.find((f) => f.findingId.startsWith('payments-prod-network:'))!;
    expect(aws).toMatchObject({
      resourceRef: 'aws_security_group.payments_app',
      detector: 'aws-inventory',
      driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
      risk: 'CRITICAL',
      approvedBy: 'noah.fischer@acme.example + marco.bianchi@acme.example',
      changedBy: { actor: 'elena.rossi@acme.example', source: 'cloudtrail', eventName: 'AuthorizeSecurityGroupIngress' },
      outcome: 'RECONCILED',
    });
    expect(aws.reconcileDetail).toMatch(/revoked 1 rule/);
    const files = readdirSync(aws.evidencePath).filter((n) => n.endsWith('.json'));
    const evidence = files.map((n) => readFileSync(path.join(aws.evidencePath, n), 'utf8')).join('\n');
    // The detection record carries the recorded/actual difference: tcp/22 from 0.0.0.0/0 arrived.
    expect(evidence).toContain('/ingress');
    expect(evidence).toContain('0.0.0.0/0');
    expect(evidence).toContain('s3://acme-tfstate-111122223333/prod/eu-west-1/payments/network/terraform.tfstate');
    // No credentials anywhere in evidence: not the sandbox's fake base keys, not an STS session.
    expect(evidence).not.toMatch(/demo-sandbox-not-a-secret|AKIADEMO|SessionToken|secretAccessKey|sessionToken/i);
  });

  it('approves the production image patch from Slack: a signed request to driftplane serve, as the registry person of the Slack user', async () => {
    const prod = demo.findings.find((f) => f.findingId.startsWith('checkout-web-prod:'))!;
    expect(demo.slackAnswers).toEqual([{ findingId: prod.findingId, slackUserId: 'U04MARIA', status: 200 }]);
    const json = JSON.parse((await driftplane('show', prod.findingId, '--json')).stdout) as { answer: { via: string; approver: string; authenticated?: boolean } };
    expect(json.answer).toMatchObject({ via: 'slack', approver: 'maria.lopez@acme.example' });
  });

  it('opens a hotfix window: the break-glass change inside it is EMERGENCY_DRIFT, attached, accepted into Git by a merged PR, and the window closes', async () => {
    const h = demo.hotfix!;
    expect(h.windowId).toBe('hotfix:checkout-web-prod:INC-9127');
    expect(h.state).toBe('closed');
    expect(h.finding).toMatchObject({ driftClass: 'EMERGENCY_DRIFT', recommendedAction: 'OPEN_RECONCILIATION_PR', autoHealAllowed: false, outcome: 'RECONCILED' });
    expect(h.finding.changedBy?.actor).toBe('maria.lopez@acme.example');
    expect(h.attached).toEqual([h.finding.findingId]);
    expect(h.finding.stages).toEqual(['detect', 'classify', 'route', 'approve', 'reconcile', 'verify', 'closed']);
    // The PR: a branch and a commit in the demo's desired-state repository, merged with a real `git merge`.
    const pr = demo.prs!.find((p) => p.findingId === h.finding.findingId)!;
    expect(pr).toMatchObject({ number: expect.any(Number), state: 'merged', branch: expect.stringMatching(/^driftplane\/checkout-web-prod\/[0-9a-f]{16}$/) });
    const git = (args: string[]) => run('git', args, { cwd: pr.repo }).then((r) => r.stdout);
    expect(await git(['show', '--stat', '--format=%s', pr.commit])).toContain('checkout-web-prod/desired/deployment-web.yaml');
    expect(await git(['diff', `${pr.commit}~1`, pr.commit])).toMatch(/^- {2}replicas: 3$[\s\S]*^\+ {2}replicas: 6$/m);
    expect(await git(['log', '--merges', '--format=%s', '-1'])).toContain(`#${pr.number}`);
    expect(await readFile(pr.bodyPath!, 'utf8')).toContain('## Drift Reconciliation');
    const shown = JSON.parse((await driftplane('prs', 'show', String(pr.number), '--repo', pr.repo, '--json')).stdout) as { state: string; branch: string };
    expect(shown).toMatchObject({ state: 'merged', branch: pr.branch });
    const list = JSON.parse((await driftplane('hotfix', 'list', '--unit', 'checkout-web-prod', '--json')).stdout) as unknown[];
    expect(JSON.stringify(list)).toContain('INC-9127');
  });

  it('lists the lifecycles from Temporal visibility, filtered by search attributes', async () => {
    const prod = demo.findings.find((f) => f.findingId.startsWith('checkout-web-prod:'))!;
    let rows: { findingId: string; stage: string; risk: string; owner: string }[] = [];
    for (let i = 0; i < 50 && !rows.some((x) => x.findingId === prod.findingId && x.stage === 'closed'); i++) {
      const r = await driftplane('findings', '--json', '--owner', 'checkout', '--risk', 'high');
      expect(r.code).toBe(0);
      rows = (JSON.parse(r.stdout) as { findings: typeof rows }).findings;
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(rows.find((x) => x.findingId === prod.findingId)).toMatchObject({ stage: 'closed', risk: 'HIGH', owner: 'checkout' });
    expect(rows.every((x) => x.owner === 'checkout' && x.risk === 'HIGH')).toBe(true);
  });

  it('shows one lifecycle with its decision, the rules that fired and its timeline', async () => {
    const prod = demo.findings.find((f) => f.findingId.startsWith('checkout-web-prod:'))!;
    const text = await driftplane('show', prod.findingId);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`finding     ${prod.findingId}`);
    expect(text.stdout).toMatch(/rule\s+\S+:/);
    expect(text.stdout).toContain('approved by maria.lopez@acme.example');
    const json = JSON.parse((await driftplane('show', `finding:${prod.findingId}`, '--json')).stdout) as { outcome: string; decision: { reasons: unknown[] } };
    expect(json.outcome).toBe('RECONCILED');
    expect(json.decision.reasons.length).toBeGreaterThan(0);
    // An auditor checks the demo's evidence chain without Temporal.
    const verified = await driftplane('evidence', 'verify', prod.findingId);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/record\(s\), chain intact/);
  });

  it('exits 1 naming the problem for an answer the lifecycle cannot take, and for unknown findings', async () => {
    const prod = demo.findings.find((f) => f.findingId.startsWith('checkout-web-prod:'))!;
    const late = await driftplane('approve', prod.findingId, '--as', 'maria.lopez@acme.example', '--reason', 'again');
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/error: .*(not waiting|no running lifecycle|refused)/);
    const unknown = await driftplane('show', 'nope:0000000000000000');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no lifecycle for finding nope:0000000000000000');
    const noReason = await driftplane('approve', prod.findingId, '--as', 'maria.lopez@acme.example');
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toMatch(/--reason/);
  });

  it('exits 3 with a hint when Temporal cannot be reached: never a silent success', async () => {
    const saved = env;
    env = { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' };
    try {
      const r = await driftplane('findings');
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/cannot reach Temporal at 127\.0\.0\.1:1/);
      expect(r.stderr).toMatch(/hint: start one with `driftplane dev`/);
    } finally {
      env = saved;
    }
  });
});
