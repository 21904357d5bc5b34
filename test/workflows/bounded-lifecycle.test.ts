import { WorkflowUpdateFailedError } from '@temporalio/client';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { answerFinding } from '../support/approver-keys';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import { approvalSignal, approve, detected, state, TIMELINE_HEAD, TIMELINE_TAIL, type LifecycleState } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { awaitingApproval, useDevServerWorker, waitForState } from '../support/lifecycle-harness';

// Hostile and oversized input on the real dev server: each is refused or dropped, and the lifecycle
// still reaches RECONCILED and answers `state` (what `driftplane show` reads).
const t = useDevServerWorker();
const UNIT = 'checkout-web-prod';

/** Seeds the sandbox (optionally with another actor for the image change) and scans the unit. */
async function open(actor?: { id: string; type: 'human' }) {
  await seedDemoSandbox(t.config.planesDir, new Date());
  if (actor) {
    const file = path.join(t.config.planesDir, UNIT, 'audit.jsonl');
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { actor: unknown });
    await writeFile(file, lines.map((l) => JSON.stringify({ ...l, actor })).join('\n') + '\n');
  }
  const r = (await t.env.client.workflow.execute('unitScan', { workflowId: `scan:${UNIT}:${Date.now()}:${Math.random()}`, taskQueue: t.config.taskQueue, args: [{ unit: UNIT }] })) as UnitScanResult;
  if (r.status !== 'drift') throw new Error(`expected drift, got ${JSON.stringify(r)}`);
  const f = r.findings[0]!;
  await waitForState(t.env.client, f.workflowId, awaitingApproval);
  return f;
}

const historyLength = async (workflowId: string) => (await t.env.client.workflow.getHandle(workflowId).describe()).historyLength;
const finish = async (workflowId: string) => (await t.env.client.workflow.getHandle(workflowId).result()) as LifecycleState;

/** Sends `count` messages, `width` at a time (one sender: a flood from one client, each send awaited). */
async function flood(count: number, width: number, send: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await send(next++);
    }),
  );
}

describe('a lifecycle under hostile and oversized input', () => {
  it('refuses a 1.2 MB reason with no trace in history, then reconciles', async () => {
    const f = await open();
    const handle = t.env.client.workflow.getHandle(f.workflowId);
    const before = await historyLength(f.workflowId);
    const err = await handle.executeUpdate(approve, { args: [{ approver: 'maria.lopez@acme.example', reason: 'x'.repeat(1_200_000) }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((err as Error).cause ?? (err as Error).message)).toMatch(/larger than 16384 bytes/);
    expect(await historyLength(f.workflowId)).toBe(before);

    await answerFinding(t.env.client, f.findingId, 'approve', { approver: 'maria.lopez@acme.example', reason: 'revert to Git' });
    const s = await finish(f.workflowId);
    expect(s.outcome).toBe('RECONCILED');
    expect(JSON.stringify(s).length).toBeLessThan(64 * 1024);
  });

  it('refuses or drops 1,000 invalid signals of 100 KB each, never storing their bodies, then reconciles', async () => {
    const f = await open();
    const handle = t.env.client.workflow.getHandle(f.workflowId);
    const body = 'y'.repeat(100 * 1024);
    // Signals past a run's budget are refused by the server (history.maximumSignalsPerExecution,
    // workers/server-limits.ts) until the lifecycle has continued as new: refused, never written.
    let refusedByServer = 0;
    await flood(1000, 4, (i) =>
      handle.signal(approvalSignal, { approver: i % 2 ? 'nobody@evil.example' : body, reason: body }).catch((err: Error) => {
        if (!/exceeded workflow execution limit for signal events/.test(String(err.cause ?? err))) throw err;
        refusedByServer++;
      }),
    );
    const dropped = 1000 - refusedByServer;
    const s = await waitForState(t.env.client, f.workflowId, (x) => (x.ignoredSignals?.count ?? 0) === dropped, 120_000);
    expect(s.ignoredSignals?.byReason).toEqual({ 'approval: too-large': dropped });
    expect(dropped).toBeGreaterThan(0);
    expect(s.stage).toBe('approve');
    // The state stays small: no body was kept, and the history was carried into new runs as it grew.
    expect(JSON.stringify(s)).not.toContain('yyyyyyyyyy');
    expect(JSON.stringify(s).length).toBeLessThan(64 * 1024);
    expect(s.runs ?? 0).toBeGreaterThan(0);

    await answerFinding(t.env.client, f.findingId, 'approve', { approver: 'maria.lopez@acme.example', reason: 'revert to Git' });
    const closed = await finish(f.workflowId);
    expect(closed.outcome).toBe('RECONCILED');
    // The continued runs wrote each evidence step once: one chain, one record per step.
    const described = await handle.describe();
    expect(described.status.name).toBe('COMPLETED');
  }, 300_000);

  it('keeps 10,000 detections as a count and a capped timeline, continues as new, and reconciles', async () => {
    const f = await open();
    const handle = t.env.client.workflow.getHandle(f.workflowId);
    // Like a scan's activity, a detection the server refuses while the run continues as new is sent again.
    await flood(10_000, 1, async (i) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await handle.signal(detected, { detectedAt: new Date(Date.now() + i).toISOString(), detector: 'local-planes' });
        } catch (err) {
          if (attempt > 50 || !/exceeded workflow execution limit for signal events/.test(String((err as Error).cause ?? err))) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    });
    // The scan's own detection is the first; 10,000 more follow.
    const s = await waitForState(t.env.client, f.workflowId, (x) => x.detections >= 10_001, 120_000);
    expect(s.detections).toBe(10_001);
    expect(s.timeline.length).toBeLessThanOrEqual(TIMELINE_HEAD + TIMELINE_TAIL);
    expect(s.timelineDropped).toBeGreaterThan(9_000);
    // The first entries stay: what was detected and decided is never the part that is dropped.
    expect(s.timeline.slice(0, 4).map((e) => e.event)).toEqual(['entered', 'entered', 'classified', 'entered']);
    expect(s.runs ?? 0).toBeGreaterThan(0);
    expect(JSON.stringify(await handle.query(state)).length).toBeLessThan(64 * 1024);

    await answerFinding(t.env.client, f.findingId, 'approve', { approver: 'maria.lopez@acme.example', reason: 'revert to Git' });
    const closed = await finish(f.workflowId);
    expect(closed.outcome).toBe('RECONCILED');
    expect(closed.timeline.at(-1)).toMatchObject({ event: 'closed', detail: 'RECONCILED' });
  }, 600_000);
});

describe('self-approval judged on the person behind the audit actor', () => {
  it('refuses the actor under an IAM-session spelling of her name, and lets another approver answer', async () => {
    const f = await open({ id: ' arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/Maria.Lopez ', type: 'human' });
    const s = await t.env.client.workflow.getHandle(f.workflowId).query(state);
    expect(s.route?.actor).toMatchObject({ person: 'maria.lopez@acme.example', matched: 'maria.lopez' });
    await expect(answerFinding(t.env.client, f.findingId, 'approve', { approver: 'U04MARIA', reason: 'mine' })).rejects.toThrow(/caused this drift/);
    await answerFinding(t.env.client, f.findingId, 'approve', { approver: 'priya.nair@acme.example', reason: 'revert to Git' });
    expect((await finish(f.workflowId)).outcome).toBe('RECONCILED');
  });

  it('an unresolved human actor needs one more distinct approver, and says why', async () => {
    const f = await open({ id: 'jdoe@contractor.example', type: 'human' });
    const handle = t.env.client.workflow.getHandle(f.workflowId);
    const s = await handle.query(state);
    expect(s.route?.requiredApprovals).toBe(2);
    expect(s.timeline.map((e) => e.event)).toEqual(expect.arrayContaining(['actor', 'approvals required', 'awaiting approvals']));

    await answerFinding(t.env.client, f.findingId, 'approve', { approver: 'maria.lopez@acme.example', reason: 'revert to Git' });
    const one = await handle.query(state);
    expect(one.stage).toBe('approve');
    expect(one.approvals?.map((a) => a.approver)).toEqual(['maria.lopez@acme.example']);
    expect(one.timeline.at(-1)?.detail).toMatch(/\(1 of 2\)/);
    // The same person twice counts once.
    await expect(answerFinding(t.env.client, f.findingId, 'approve', { approver: 'mlopez', reason: 'again' })).rejects.toThrow(/already approved/);

    await answerFinding(t.env.client, f.findingId, 'approve', { approver: 'priya.nair@acme.example', reason: 'agreed' });
    const closed = await finish(f.workflowId);
    expect(closed.outcome).toBe('RECONCILED');
    expect(closed.approvals?.map((a) => a.approver)).toEqual(['maria.lopez@acme.example', 'priya.nair@acme.example']);
  });
});
