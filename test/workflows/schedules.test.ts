import { ScheduleNotFoundError } from '@temporalio/client';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySchedulePlan, readManagedSchedules } from '../../cli/schedules';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import type { Registry } from '../../domain/registry/model';
import { desiredSchedules, inStep, MANAGED_SCHEDULE_PREFIX, planScheduleSync, scanScheduleId } from '../../domain/schedules';
import { loadRegistryOrThrow } from '../../registry';
import type { LifecycleState } from '../../workflows/messages';
import { useDevServerWorker } from '../support/lifecycle-harness';
import { repoRoot } from '../support/shared-fixtures';

// Temporal Schedules on the real dev server, kept in step with the registry.
const t = useDevServerWorker();
const run = promisify(execFile);
let registry: Registry;
const ids = () => desiredSchedules(registry.units.values(), t.config.taskQueue).map((d) => d.scheduleId);

beforeAll(async () => {
  registry = await loadRegistryOrThrow(path.join(repoRoot, 'registry', 'examples', 'acme'));
});

afterAll(async () => {
  // The dev server is shared by the whole run: leave no schedule behind.
  for await (const s of t.env.client.schedule.list()) {
    if (s.scheduleId.startsWith(MANAGED_SCHEDULE_PREFIX) || s.scheduleId === 'someone-elses-nightly') await t.env.client.schedule.getHandle(s.scheduleId).delete();
  }
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string }> {
  const env = { ...process.env, TEMPORAL_ADDRESS: t.config.temporalAddress, DRIFTPLANE_TASK_QUEUE: t.config.taskQueue };
  try {
    const { stdout } = await run(process.execPath, [path.join(repoRoot, 'bin', 'driftplane.cjs'), ...args], { env });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe('schedules sync', () => {
  it('creates one schedule per unit plus the two sweeps, is idempotent, updates and deletes only what it owns, and keeps a pause', async () => {
    const client = t.env.client;
    await client.schedule.create({
      scheduleId: 'someone-elses-nightly',
      spec: { intervals: [{ every: '24h' }] },
      action: { type: 'startWorkflow', workflowType: 'somethingElse', taskQueue: 'elsewhere' },
    });

    const desired = desiredSchedules(registry.units.values(), t.config.taskQueue);
    const first = planScheduleSync(desired, await readManagedSchedules(client, ids()));
    // One scan per unit, the staleness sweep and the budget sweep.
    expect(first.create).toHaveLength(registry.units.size + 2);
    await applySchedulePlan(client, first);
    expect(inStep(planScheduleSync(desired, await readManagedSchedules(client, ids())))).toBe(true);

    const checkout = client.schedule.getHandle(scanScheduleId('checkout-web-prod'));
    const d = await checkout.describe();
    expect(d.spec.intervals?.[0]?.every).toBe(15 * 60_000);
    expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'unitScan', taskQueue: t.config.taskQueue, args: [{ unit: 'checkout-web-prod' }] });

    // A person pauses one schedule; the registry then changes its interval and drops another unit.
    await checkout.pause('maintenance window');
    const changed = desired
      .filter((x) => x.scheduleId !== scanScheduleId('catalog-web-staging'))
      .map((x) => (x.scheduleId === checkout.scheduleId ? { ...x, everyMs: 5 * 60_000, signature: `${x.signature}#5m` } : x));
    const second = planScheduleSync(changed, await readManagedSchedules(client, ids()));
    expect(second.update.map((x) => x.scheduleId)).toEqual([checkout.scheduleId]);
    expect(second.remove).toEqual([scanScheduleId('catalog-web-staging')]);
    await applySchedulePlan(client, second);

    const after = await checkout.describe();
    expect(after.spec.intervals?.[0]?.every).toBe(5 * 60_000);
    expect(after.state.paused).toBe(true);
    await expect(client.schedule.getHandle(scanScheduleId('catalog-web-staging')).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await client.schedule.getHandle('someone-elses-nightly').describe()).action).toMatchObject({ workflowType: 'somethingElse' });
  });

  it('runs the real scan when a schedule fires: the drift it finds goes through its lifecycle', async () => {
    const client = t.env.client;
    await applySchedulePlan(client, planScheduleSync(desiredSchedules(registry.units.values(), t.config.taskQueue), await readManagedSchedules(client, ids())));
    await seedDemoSandbox(t.config.planesDir, new Date());
    await client.schedule.getHandle(scanScheduleId('catalog-web-staging')).trigger();

    let closed: LifecycleState | undefined;
    for (let i = 0; i < 100 && !closed; i++) {
      for await (const w of client.workflow.list({ query: `WorkflowType = 'driftLifecycle' AND Unit = 'catalog-web-staging' AND TaskQueue = '${t.config.taskQueue}' AND ExecutionStatus = 'Completed'` })) {
        closed = (await client.workflow.getHandle(w.workflowId, w.runId).result()) as LifecycleState;
      }
      if (!closed) await new Promise((r) => setTimeout(r, 200));
    }
    expect(closed).toMatchObject({ stage: 'closed', outcome: 'RECONCILED' });
    const scans = [];
    for await (const w of client.workflow.list({ query: `WorkflowType = 'unitScan' AND TaskQueue = '${t.config.taskQueue}'` })) scans.push(w.workflowId);
    expect(scans.some((id) => id.startsWith('scan-catalog-web-staging'))).toBe(true);
  });

  it('--dry-run exits 0 when in step and 2 with the pending plan otherwise', async () => {
    await applySchedulePlan(t.env.client, planScheduleSync(desiredSchedules(registry.units.values(), t.config.taskQueue), await readManagedSchedules(t.env.client, ids())));
    const same = await cli('schedules', 'sync', '--dry-run', '--json');
    expect(same.code).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ inStep: true, create: [], update: [], remove: [] });

    const pending = await cli('schedules', 'sync', '--dry-run', '--json', '--registry', path.join(repoRoot, 'test', 'unit', 'registry', 'no-such-dir'));
    expect(pending.code).toBe(1);
    await t.env.client.schedule.getHandle(scanScheduleId('checkout-web-prod')).delete();
    const missing = await cli('schedules', 'sync', '--dry-run', '--json');
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toMatchObject({ inStep: false, create: [scanScheduleId('checkout-web-prod')] });
    // --dry-run changed nothing.
    await expect(t.env.client.schedule.getHandle(scanScheduleId('checkout-web-prod')).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });
});
