import { WorkflowUpdateFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { hotfixWindowId, type HotfixWindowInput } from '../../domain/hotfix';
import { EvidenceStore } from '../../evidence/evidence-store';
import { attachFinding, closeWindow, extendWindow, resolveFinding, windowState, type HotfixWindowState } from '../../workflows/messages';
import type { ConsoleNotifier } from '../../activities/notify/console-notifier';
import { useTimeSkippingWorker } from '../support/lifecycle-harness';

// A 72h hotfix window on the time-skipping test server: its reminders, expiry and escalation pass in seconds.
const t = useTimeSkippingWorker();
const sent = () => (t.worker.notifier as ConsoleNotifier).sent;
const HOUR = 3_600_000;
const UNIT = 'checkout-web-prod';
// maria.lopez is a checkout approver (the break-glass actor); priya.nair approves; dave.kim is on the team, not an approver.
const ACTOR = 'maria.lopez@acme.example';
const APPROVER = 'priya.nair@acme.example';

let seq = 0;
async function openWindow(overrides: Partial<HotfixWindowInput> = {}) {
  const incident = `INC-${9127 + seq++}`;
  const input: HotfixWindowInput = { unit: UNIT, incident, window: '72h', actors: [ACTOR], openedBy: ACTOR, reason: 'restore checkout during the LB incident', ...overrides };
  const handle = await t.env.client.workflow.start('hotfixWindow', { workflowId: hotfixWindowId(UNIT, incident), taskQueue: t.config.taskQueue, args: [input] });
  // Queries do not skip time: the window has opened (its activity ran) once the approvers are known.
  for (let i = 0; i < 100 && (await handle.query(windowState)).approvers.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
  return { handle, incident, windowId: handle.workflowId };
}

const emergency = (findingId: string) => ({
  findingId,
  resourceRef: 'Deployment/checkout/web',
  actor: ACTOR,
  driftClass: 'EMERGENCY_DRIFT',
  risk: 'HIGH',
  detectedAt: new Date().toISOString(),
});

/** An Update the window's validator refused: nothing entered history; the reason is in the cause. */
async function refused(p: Promise<unknown>, why: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(((err as WorkflowUpdateFailedError).cause as Error | undefined)?.message).toMatch(why);
}

const hoursAfterOpen = (s: HotfixWindowState, at: string) => (Date.parse(at) - Date.parse(s.openedAt)) / HOUR;

describe('hotfix window (time-skipping server)', () => {
  it('reminds at 36h and 64.8h of a 72h window, and escalates at expiry when an attached finding has no reconciliation path', async () => {
    const { handle, windowId } = await openWindow();
    await handle.signal(attachFinding, emergency(`${UNIT}:0000000000000001`));
    await t.env.sleep('73h');
    const s = await handle.query(windowState);

    expect(s.reminders.map((r) => r.percent)).toEqual([50, 90]);
    // Workflow time: the reminders went out at 50 % and 90 % of 72h.
    expect(hoursAfterOpen(s, s.reminders[0]!.at)).toBeCloseTo(36, 2);
    expect(hoursAfterOpen(s, s.reminders[1]!.at)).toBeCloseTo(64.8, 2);
    const reminders = sent().filter((n) => n.findingId === windowId && n.kind === 'hotfix-reminder');
    expect(reminders).toHaveLength(2);
    expect(reminders[0]!.targets).toEqual(['team:checkout', `incident:${s.incident}`]);

    expect(s.status).toBe('escalated');
    expect(hoursAfterOpen(s, s.escalation!.at)).toBeCloseTo(72, 2);
    expect(s.escalation!.unresolved).toEqual([`${UNIT}:0000000000000001`]);
    const escalated = sent().filter((n) => n.findingId === windowId && n.kind === 'hotfix-escalated');
    expect(escalated).toHaveLength(1);
    expect(escalated[0]!.targets).toEqual(['team:checkout', `incident:${s.incident}`]);
    const steps = (await new EvidenceStore(t.config.evidenceDir).read(windowId)).map((r) => r.step);
    expect(steps).toEqual(['opened', `attached-${UNIT}:0000000000000001`, 'reminder-0-50', 'reminder-0-90', 'escalated']);
    expect((await new EvidenceStore(t.config.evidenceDir).verify(windowId)).ok).toBe(true);

    // Closing is refused while the finding has no path; the break-glass actor may not accept her own change.
    await refused(handle.executeUpdate(closeWindow, { args: [{ by: APPROVER, reason: 'done' }] }), /no reconciliation path yet/);
    await refused(handle.executeUpdate(resolveFinding, { args: [{ findingId: `${UNIT}:0000000000000001`, resolution: 'accepted', by: ACTOR, reason: 'it is fine' }] }), /declared break-glass actor/);
    // An approver accepts it explicitly: the escalated window closes, reconciled.
    await handle.executeUpdate(resolveFinding, { args: [{ findingId: `${UNIT}:0000000000000001`, resolution: 'accepted', by: APPROVER, reason: 'the runtime value is the new standard' }] });
    const done = (await handle.result()) as HotfixWindowState;
    expect(done.status).toBe('closed');
    expect(done.closed?.outcome).toBe('reconciled');
  });

  it('keeps an attached EMERGENCY_DRIFT finding until it has a path, and closes cleanly when it has one', async () => {
    const { handle, windowId } = await openWindow();
    const findingId = `${UNIT}:0000000000000002`;
    await handle.signal(attachFinding, emergency(findingId));
    await handle.signal(attachFinding, emergency(findingId)); // the same finding attaches once
    await t.env.sleep('10h');
    let s = await handle.query(windowState);
    expect(s.findings.map((f) => [f.findingId, f.driftClass, f.resolution])).toEqual([[findingId, 'EMERGENCY_DRIFT', undefined]]);
    expect(s.status).toBe('open');

    // Dave is on the team but no approver: he may record a PR, not accept; and a PR needs its reference.
    await refused(handle.executeUpdate(resolveFinding, { args: [{ findingId, resolution: 'pr', by: 'dave.kim@acme.example', reason: 'PR follows' }] }), /reference/);
    await handle.executeUpdate(resolveFinding, {
      args: [{ findingId, resolution: 'pr', reference: 'https://github.com/acme/apps/pull/412', by: 'dave.kim@acme.example', reason: 'back-port of the hotfix image' }],
    });
    await refused(handle.executeUpdate(closeWindow, { args: [{ by: 'someone@else.example', reason: 'done' }] }), /neither an approver/);
    await handle.executeUpdate(closeWindow, { args: [{ by: APPROVER, reason: 'incident resolved; PR 412 merged' }] });
    s = (await handle.result()) as HotfixWindowState;

    expect(s.status).toBe('closed');
    expect(s.closed).toMatchObject({ by: APPROVER, reason: 'incident resolved; PR 412 merged', outcome: 'closed' });
    expect(s.escalation).toBeUndefined();
    expect(s.findings[0]!.resolution).toMatchObject({ resolution: 'pr', reference: 'https://github.com/acme/apps/pull/412', by: 'dave.kim@acme.example' });
    expect(sent().filter((n) => n.findingId === windowId && n.kind === 'hotfix-escalated')).toHaveLength(0);
    expect(sent().filter((n) => n.findingId === windowId && n.kind === 'hotfix-closed')).toHaveLength(1);
    const records = await new EvidenceStore(t.config.evidenceDir).read(windowId);
    expect(records.map((r) => r.step)).toEqual(['opened', `attached-${findingId}`, `resolved-${findingId}`, 'closed']);
    expect(records.at(-1)!.data).toMatchObject({ by: APPROVER, reason: 'incident resolved; PR 412 merged', outcome: 'closed' });
  });

  it('closes by itself at expiry when every attached finding has a path, without escalating', async () => {
    const { handle, windowId } = await openWindow();
    const findingId = `${UNIT}:0000000000000003`;
    await handle.signal(attachFinding, emergency(findingId));
    await handle.executeUpdate(resolveFinding, { args: [{ findingId, resolution: 'state-action', reference: 'tofu apply -refresh-only run 77', by: ACTOR, reason: 'state refreshed' }] });
    const s = (await handle.result()) as HotfixWindowState;
    expect(s.closed).toMatchObject({ by: 'system:expiry', outcome: 'reconciled' });
    expect(hoursAfterOpen(s, s.closed!.at)).toBeCloseTo(72, 2);
    expect(sent().filter((n) => n.findingId === windowId && n.kind === 'hotfix-escalated')).toHaveLength(0);
  });

  it('is extended once, by a listed approver who is not the break-glass actor, and reminds again in the extension', async () => {
    const { handle } = await openWindow();
    await t.env.sleep('40h');
    await refused(handle.executeUpdate(extendWindow, { args: [{ by: ACTOR, reason: 'I need more time' }] }), /break-glass actor/);
    await refused(handle.executeUpdate(extendWindow, { args: [{ by: 'dave.kim@acme.example', reason: 'more time' }] }), /not a listed approver/);
    await refused(handle.executeUpdate(extendWindow, { args: [{ by: APPROVER, reason: 'more time', duration: '100h' }] }), /at most the original window/);
    const extended = await handle.executeUpdate(extendWindow, { args: [{ by: APPROVER, reason: 'vendor fix lands Friday', duration: '24h' }] });
    expect(hoursAfterOpen(extended, extended.deadline)).toBeCloseTo(96, 2);
    await refused(handle.executeUpdate(extendWindow, { args: [{ by: APPROVER, reason: 'again' }] }), /already extended 1 time/);
    const s = (await handle.result()) as HotfixWindowState;
    expect(s.closed?.outcome).toBe('reconciled');
    expect(hoursAfterOpen(s, s.closed!.at)).toBeCloseTo(96, 2);
    // The extension is a period of its own: 50 % and 90 % of the 56h from the extension to the new deadline.
    const ext = Date.parse(s.extensions[0]!.at);
    expect(s.reminders.map((r) => r.percent)).toEqual([50, 50, 90]);
    expect((Date.parse(s.reminders[1]!.at) - ext) / HOUR).toBeCloseTo(28, 2);
    expect((Date.parse(s.reminders[2]!.at) - ext) / HOUR).toBeCloseTo(50.4, 2);
  });

  it("takes its number of extensions from the unit's policy: a window cannot ask for more (policies.maxHotfixExtensions, default 1)", async () => {
    const { handle } = await openWindow({ maxExtensions: 5 });
    expect((await handle.query(windowState)).maxExtensions).toBe(1);
    const { handle: fewer } = await openWindow({ maxExtensions: 0 });
    expect((await fewer.query(windowState)).maxExtensions).toBe(0);
  });

  it('fails to open for an actor who is neither an approver of the unit nor a break-glass role of its team', async () => {
    const incident = 'INC-1';
    const handle = await t.env.client.workflow.start('hotfixWindow', {
      workflowId: hotfixWindowId(UNIT, incident),
      taskQueue: t.config.taskQueue,
      args: [{ unit: UNIT, incident, window: '72h', actors: ['dave.kim@acme.example'], openedBy: ACTOR, reason: 'x' } satisfies HotfixWindowInput],
    });
    await expect(handle.result()).rejects.toThrow();
  });
});
