/**
 * The hotfix-window scenarios of `npm run record-histories` (scripts/record-histories.ts calls this
 * with its dev server and its `save`): short windows, so reminders, an extension, an escalation and
 * both endings run in seconds.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ConsoleNotifier } from '../activities/notify/console-notifier';
import { hotfixWindowId, type HotfixWindowInput } from '../domain/hotfix';
import { attachFinding, extendWindow, resolveFinding, windowState, type HotfixWindowState } from '../workflows/messages';
import { HotfixIncidentKey, UnitKey, WindowStateKey } from '../workflows/search-attributes';
import { createDriftplaneWorker } from '../workers/create-worker';
import { testConfig, workflowBundle } from '../test/support/lifecycle-helpers';

const UNIT = 'checkout-web-prod';

/** Records `hotfix-window-extended-reconciled` and `hotfix-window-escalated-accepted`. */
export async function recordHotfixHistories(env: TestWorkflowEnvironment, save: (name: string, workflowId: string, runId: string) => void): Promise<void> {
  const config = await testConfig(env.address);
  const w = await createDriftplaneWorker(config, { source: { workflowBundle: await workflowBundle() }, connection: env.nativeConnection, notifier: new ConsoleNotifier(undefined) });
  const open = async (incident: string, window: string) => {
    const input: HotfixWindowInput = { unit: UNIT, incident, window, actors: ['maria.lopez@acme.example'], openedBy: 'priya.nair@acme.example', reason: 'restore checkout during the LB incident' };
    const handle = await env.client.workflow.start('hotfixWindow', {
      workflowId: hotfixWindowId(UNIT, incident),
      taskQueue: config.taskQueue,
      args: [input],
      typedSearchAttributes: [
        { key: UnitKey, value: UNIT },
        { key: HotfixIncidentKey, value: incident },
        { key: WindowStateKey, value: 'open' },
      ],
    });
    for (let i = 0; i < 100 && (await handle.query(windowState)).approvers.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    return handle;
  };
  const finding = (n: number) => ({
    findingId: `${UNIT}:${String(n).padStart(16, '0')}`,
    resourceRef: 'Deployment/checkout/web',
    actor: 'maria.lopez@acme.example',
    driftClass: 'EMERGENCY_DRIFT',
    risk: 'HIGH',
    detectedAt: new Date().toISOString(),
  });
  const stamp = Date.now().toString(36).toUpperCase();

  await w.worker.runUntil(async () => {
    // Attached, reminded, extended once by an approver, given a back-port PR, closed at expiry.
    const extended = await open(`INC-${stamp}-A`, '6s');
    await extended.signal(attachFinding, finding(1));
    await extended.executeUpdate(extendWindow, { args: [{ by: 'priya.nair@acme.example', reason: 'vendor fix lands later', duration: '4s' }] });
    await extended.executeUpdate(resolveFinding, {
      args: [{ findingId: finding(1).findingId, resolution: 'pr', reference: 'https://github.com/acme/apps/pull/412', by: 'maria.lopez@acme.example', reason: 'back-port' }],
    });
    const a = (await extended.result()) as HotfixWindowState;
    if (a.closed?.outcome !== 'reconciled' || a.extensions.length !== 1) throw new Error(`unexpected hotfix window ending: ${JSON.stringify(a.closed)}`);
    save('hotfix-window-extended-reconciled', extended.workflowId, extended.firstExecutionRunId);

    // Expired with a finding that has no path: escalated; then explicitly accepted by an approver.
    const escalated = await open(`INC-${stamp}-B`, '4s');
    await escalated.signal(attachFinding, finding(2));
    for (let i = 0; i < 100 && (await escalated.query(windowState)).status !== 'escalated'; i++) await new Promise((r) => setTimeout(r, 200));
    await escalated.executeUpdate(resolveFinding, { args: [{ findingId: finding(2).findingId, resolution: 'accepted', by: 'priya.nair@acme.example', reason: 'the runtime value becomes the standard' }] });
    const b = (await escalated.result()) as HotfixWindowState;
    if (!b.escalation || b.closed?.outcome !== 'reconciled') throw new Error(`unexpected hotfix window ending: ${JSON.stringify(b)}`);
    save('hotfix-window-escalated-accepted', escalated.workflowId, escalated.firstExecutionRunId);
  });
  await w.close();
}
