import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConsoleNotifier } from '../../activities/notify/console-notifier';
import { answerFinding } from '../support/approver-keys';
import { listHotfixWindows, readHotfixWindow, startHotfixWindow, updateHotfixWindow } from '../../cli/commands/hotfix';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import { InputError } from '../../domain/errors';
import { hotfixWindowsQuery } from '../../domain/hotfix';
import { EvidenceStore } from '../../evidence/evidence-store';
import { loadRegistryOrThrow } from '../../registry';
import { windowState, type LifecycleState, pullRequestClosed } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { awaitingApproval, useDevServerWorker, waitForState } from '../support/lifecycle-harness';

// Classification through the real classify activity, asking the real dev server (visibility + query)
// whether a hotfix window is open for the unit and whether the drift's actor is its declared actor.
const t = useDevServerWorker();
const UNIT = 'checkout-web-prod';
const BREAK_GLASS = 'maria.lopez@acme.example';

/** Seeds the sandbox: the production image patched by `actor` (the audit line says so), then scans the unit. */
async function scanChangedBy(actor: { id: string; type: 'human' | 'break-glass' }) {
  await seedDemoSandbox(t.config.planesDir, new Date());
  const audit = path.join(t.config.planesDir, UNIT, 'audit.jsonl');
  const lines = (await readFile(audit, 'utf8')).trim().split('\n').map((l) => ({ ...(JSON.parse(l) as object), actor, eventTime: new Date().toISOString() }));
  await writeFile(audit, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  const r = (await t.env.client.workflow.execute('unitScan', { workflowId: `scan:${UNIT}:${Date.now()}`, taskQueue: t.config.taskQueue, args: [{ unit: UNIT }] })) as UnitScanResult;
  if (r.status !== 'drift') throw new Error(`expected drift, got ${JSON.stringify(r)}`);
  return r.findings[0]!;
}

const classified = (workflowId: string) => waitForState(t.env.client, workflowId, (s) => s.decision !== undefined && s.route !== undefined);
const rules = (s: LifecycleState) => s.decision!.reasons.map((r) => r.ruleId);

async function openWindow(incident: string) {
  const registry = await loadRegistryOrThrow(t.config.registryDir);
  const opened = await startHotfixWindow(t.env.client, registry, t.config.taskQueue, {
    unit: UNIT,
    incident,
    window: '72h',
    actors: [BREAK_GLASS],
    openedBy: 'priya.nair@acme.example',
    reason: 'checkout 5xx during the LB incident',
  });
  await waitForWindow(opened.windowId, (s) => s.approvers.length > 0);
  return opened;
}

async function waitForWindow(windowId: string, until: (s: Awaited<ReturnType<typeof readHotfixWindow>>['state']) => boolean) {
  for (let i = 0; i < 150; i++) {
    const s = await t.env.client.workflow.getHandle(windowId).query(windowState);
    if (until(s)) return s;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${windowId}`);
}

describe('hotfix windows and classification (dev server)', () => {
  it('classifies a break-glass change outside any open window as UNAUTHORIZED_RUNTIME_DRIFT', async () => {
    const f = await scanChangedBy({ id: BREAK_GLASS, type: 'break-glass' });
    const s = await classified(f.workflowId);
    expect(s.decision).toMatchObject({ driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT', risk: 'CRITICAL', autoHealAllowed: false });
    expect(rules(s)).toContain('break-glass-without-incident');
  });

  it('classifies the declared actor’s change inside the window as EMERGENCY_DRIFT with the incident, attaches it, and does not revert it', async () => {
    const { windowId } = await openWindow('INC-9127');
    // The window is in Temporal visibility with its search attributes.
    const listed = await listHotfixWindows(t.env.client, hotfixWindowsQuery({ unit: UNIT, running: true }));
    expect(listed.find((r) => r.windowId === windowId)).toMatchObject({ unit: UNIT, incident: 'INC-9127', state: 'open', status: 'RUNNING' });

    const f = await scanChangedBy({ id: BREAK_GLASS, type: 'break-glass' });
    const s = await waitForState(t.env.client, f.workflowId, awaitingApproval);
    expect(s.decision).toMatchObject({ driftClass: 'EMERGENCY_DRIFT', recommendedAction: 'OPEN_RECONCILIATION_PR', autoHealAllowed: false });
    const why = s.decision!.reasons.find((r) => r.ruleId === 'emergency-open-incident')?.why;
    expect(why).toContain('INC-9127');

    const w = await waitForWindow(windowId, (x) => x.findings.length > 0);
    expect(w.findings).toEqual([expect.objectContaining({ findingId: f.findingId, driftClass: 'EMERGENCY_DRIFT', actor: BREAK_GLASS })]);
    expect((await new EvidenceStore(t.config.evidenceDir).read(f.findingId)).map((r) => r.step)).toContain('hotfix-attached');

    // Approved (by someone else than the actor), the lifecycle opens a PR accepting the change into
    // Git, and no revert: the hotfix stays in place.
    await answerFinding(t.env.client, f.findingId, 'approve', { approver: 'priya.nair@acme.example', reason: 'back-port PR to follow' });
    const waiting = await waitForState(t.env.client, f.workflowId, (x) => x.pr?.state === 'open');
    expect(waiting.timeline.find((e) => e.event === 'reconciled')?.detail).toMatch(/^opened PR #\d+ /);
    // The PR is closed unmerged: back to approve, where the reviewer rejects; the lifecycle closes without a revert.
    const h = t.env.client.workflow.getHandle(f.workflowId);
    await h.signal(pullRequestClosed, { number: waiting.pr!.number, merged: false, repo: waiting.pr!.repo, at: new Date().toISOString(), via: 'prs-close' });
    await waitForState(t.env.client, f.workflowId, (x) => x.stage === 'approve' && x.answer === undefined && (x.closedPrs?.length ?? 0) === 1);
    await answerFinding(t.env.client, f.findingId, 'reject', { approver: 'priya.nair@acme.example', reason: 'back-ported by hand instead' });
    const done = (await h.result()) as LifecycleState;
    expect(done.outcome).toBe('REJECTED');
    const actual = JSON.parse(await readFile(path.join(t.config.planesDir, UNIT, 'actual', 'deployment-web.json'), 'utf8')) as { spec: { template: { spec: { containers: { image: string }[] } } } };
    expect(actual.spec.template.spec.containers[0]!.image).toBe('ghcr.io/acme/checkout:hotfix-debug');

    // Another person's change in the same window is not covered.
    const other = await scanChangedBy({ id: 'dave.kim@acme.example', type: 'human' });
    expect((await classified(other.workflowId)).decision?.driftClass).toBe('UNAUTHORIZED_RUNTIME_DRIFT');
  });

  it('closes with who and why; a break-glass change after the window is UNAUTHORIZED again; status and list show it', async () => {
    const { windowId } = await openWindow('INC-9200');
    const f = await scanChangedBy({ id: BREAK_GLASS, type: 'break-glass' });
    expect((await classified(f.workflowId)).decision?.driftClass).toBe('EMERGENCY_DRIFT');
    await waitForWindow(windowId, (x) => x.findings.length > 0);
    await expect(updateHotfixWindow(t.env.client, windowId, { kind: 'close', input: { by: 'priya.nair@acme.example', reason: 'done' } })).rejects.toBeInstanceOf(InputError);
    await updateHotfixWindow(t.env.client, windowId, {
      kind: 'resolve',
      input: { findingId: f.findingId, resolution: 'pr', reference: 'https://github.com/acme/apps/pull/9', by: BREAK_GLASS, reason: 'back-port' },
    });
    await updateHotfixWindow(t.env.client, windowId, { kind: 'close', input: { by: 'priya.nair@acme.example', reason: 'incident resolved' } });
    const closed = (await t.env.client.workflow.getHandle(windowId).result()) as Awaited<ReturnType<typeof readHotfixWindow>>['state'];
    expect(closed.closed).toMatchObject({ by: 'priya.nair@acme.example', reason: 'incident resolved', outcome: 'closed' });
    expect((await readHotfixWindow(t.env.client, windowId)).state.status).toBe('closed');
    expect((t.worker.notifier as ConsoleNotifier).sent.some((n) => n.kind === 'hotfix-closed' && n.findingId === windowId)).toBe(true);

    await t.env.client.workflow.getHandle(f.workflowId).terminate('next case');
    const after = await scanChangedBy({ id: BREAK_GLASS, type: 'break-glass' });
    const s = await classified(after.workflowId);
    expect(s.decision?.driftClass).toBe('UNAUTHORIZED_RUNTIME_DRIFT');
    expect(rules(s)).toContain('break-glass-without-incident');
  });

  it('refuses to open a window for an actor who is neither an approver nor a break-glass role of the owning team', async () => {
    const registry = await loadRegistryOrThrow(t.config.registryDir);
    await expect(
      startHotfixWindow(t.env.client, registry, t.config.taskQueue, { unit: UNIT, incident: 'INC-1', window: '72h', actors: ['dave.kim@acme.example'], openedBy: 'priya.nair@acme.example', reason: 'x' }),
    ).rejects.toThrow(/neither a listed approver/);
  });
});
