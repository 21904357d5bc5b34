import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { answerFinding } from '../support/approver-keys';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import { state, type LifecycleState } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { repoRoot } from '../support/shared-fixtures';
import { awaitingApproval, useDevServerWorker, waitForState } from '../support/lifecycle-harness';

// A decision table in which production drift is at least CRITICAL: the demo's image patch then
// needs two distinct approvers (the default quorum for CRITICAL).
const tableFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'dp-table-')), 'critical-prod.yaml');
const table = readFileSync(path.join(repoRoot, 'domain', 'classify', 'default-decision-table.yaml'), 'utf8');
const floor = /(- id: production-floor[\s\S]*?then: \{ riskAtLeast: )MEDIUM( \})/;
if (!floor.test(table)) throw new Error('the default table no longer has the production-floor rule this test raises');
writeFileSync(tableFile, table.replace(floor, '$1CRITICAL$2'));

const t = useDevServerWorker({ DRIFTPLANE_DECISION_TABLE: tableFile });

async function scan(unit: string) {
  await seedDemoSandbox(t.config.planesDir, new Date());
  const r = (await t.env.client.workflow.execute('unitScan', { workflowId: `scan:${unit}:${Date.now()}:${Math.random()}`, taskQueue: t.config.taskQueue, args: [{ unit }] })) as UnitScanResult;
  if (r.status !== 'drift') throw new Error(`expected drift, got ${JSON.stringify(r)}`);
  return r.findings[0]!;
}
const finish = async (workflowId: string) => (await t.env.client.workflow.getHandle(workflowId).result()) as LifecycleState;

describe('quorum: a CRITICAL finding needs two distinct approvers', () => {
  it('stays in approve after one approval, ignores a repeat, and reconciles after a second person', async () => {
    const f = await scan('checkout-web-prod');
    const waiting = await waitForState(t.env.client, f.workflowId, awaitingApproval);
    expect(waiting.decision?.risk).toBe('CRITICAL');
    expect(waiting.route?.requiredApprovals).toBe(2);
    expect(waiting.route?.approvalNotes?.[0]).toMatch(/2 distinct approvers required by policy/);

    // The drift's actor (dave.kim, not an approver here) and a repeat of the same person do not count.
    await expect(answerFinding(t.env.client, f.findingId, 'approve', { approver: 'dave.kim@acme.example', reason: 'mine' })).rejects.toThrow(/not an approver|caused this drift/);
    expect(await answerFinding(t.env.client, f.findingId, 'approve', { approver: 'maria.lopez@acme.example', reason: 'revert to Git' })).toMatchObject({ approvals: 1, required: 2 });
    await expect(answerFinding(t.env.client, f.findingId, 'approve', { approver: 'U04MARIA', reason: 'me again' })).rejects.toThrow(/already approved/);
    const one = await t.env.client.workflow.getHandle(f.workflowId).query(state);
    expect(one.stage).toBe('approve');
    expect(one.approvals).toHaveLength(1);

    await answerFinding(t.env.client, f.findingId, 'approve', { approver: 'priya.nair@acme.example', reason: 'agreed' });
    const s = await finish(f.workflowId);
    expect(s.outcome).toBe('RECONCILED');
    expect(s.approvals?.map((a) => a.approver)).toEqual(['maria.lopez@acme.example', 'priya.nair@acme.example']);
  });

  it('one rejection from a listed approver rejects, even after an approval', async () => {
    const f = await scan('checkout-web-prod');
    await waitForState(t.env.client, f.workflowId, awaitingApproval);
    await answerFinding(t.env.client, f.findingId, 'approve', { approver: 'maria.lopez@acme.example', reason: 'revert to Git' });
    await answerFinding(t.env.client, f.findingId, 'reject', { approver: 'priya.nair@acme.example', reason: 'accepted runtime; PR follows' });
    expect((await finish(f.workflowId)).outcome).toBe('REJECTED');
  });
});

describe('the controller-fight breaker (§24.3)', () => {
  it('heals the same drift three times, then the fourth detection is FAILED_RECONCILIATION and waits for a person', async () => {
    for (let i = 1; i <= 3; i++) {
      const f = await scan('catalog-web-staging');
      const s = await finish(f.workflowId);
      expect(s.decision?.autoHealAllowed).toBe(true);
      expect(s.outcome).toBe('RECONCILED');
    }
    const fourth = await scan('catalog-web-staging');
    const s = await waitForState(t.env.client, fourth.workflowId, awaitingApproval);
    expect(s.decision).toMatchObject({ driftClass: 'FAILED_RECONCILIATION', autoHealAllowed: false, autoHealRefusedBy: 'hard:auto-heal-breaker' });
    expect(s.decision?.reasons.find((r) => r.ruleId === 'hard:auto-heal-breaker')?.why).toMatch(/auto-healed 3 times within 1h and the drift came back at \/metadata\/labels/);
  });
});
