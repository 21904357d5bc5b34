import { Worker } from '@temporalio/worker';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetActivities, type BudgetSweepResult } from '../../activities/budgets';
import type { Notification, Notifier } from '../../activities/notify/console-notifier';
import { loadRegistryOrThrow } from '../../registry';
import { useDevServerWorker, workflowBundle } from '../support/lifecycle-harness';
import { repoRoot } from '../support/shared-fixtures';

// The budget sweep on the real dev server, with its activity on a worker of this test's own
// (its own task queue) over the harness worker's PostgreSQL ledger.
const t = useDevServerWorker();
const sent: Notification[] = [];
const notifier: Notifier = { send: async (n) => void sent.push(n) };
const queue = `budgets-${process.pid}`;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  const db = t.worker.ledger.db;
  const registry = await loadRegistryOrThrow(t.config.registryDir);
  const now = new Date();
  for (const name of registry.units.keys()) {
    await db.query("INSERT INTO unit_detection (unit, first_seen_at, last_success_at, last_result) VALUES ($1, $2, $2, 'ok') ON CONFLICT (unit) DO UPDATE SET last_success_at = $2", [name, now]);
  }
  await db.query(
    `INSERT INTO lifecycles (finding_id, run_id, unit, resource_ref, stage, detected_at, updated_at)
     VALUES ('prod-iam-baseline:sweep', 'r1', 'prod-iam-baseline', 'aws_iam_role.deploy', 'detected', $1, $1)`,
    [new Date(now.getTime() - 60_000)],
  );
  worker = await Worker.create({
    connection: t.env.nativeConnection,
    taskQueue: queue,
    workflowBundle: await workflowBundle(),
    activities: createBudgetActivities({ db, notifier, registryDir: t.config.registryDir, budgetWindow: t.config.ledger.budgetWindow }),
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
});

describe('budgetSweep', () => {
  it('evaluates every budget at the workflow clock and routes the exhausted one once; a second sweep sends nothing', async () => {
    const first = (await t.env.client.workflow.execute('budgetSweep', { workflowId: `budget-sweep-${Date.now()}`, taskQueue: queue, args: [{}] })) as BudgetSweepResult;
    const registry = await loadRegistryOrThrow(path.join(repoRoot, 'registry', 'examples', 'acme'));
    expect(first.reports).toHaveLength(registry.budgets.size);
    expect(first.reports.find((r) => r.budget === 'prod-iam')).toMatchObject({ state: 'exhausted', history: [] });
    expect(first.notified).toEqual([expect.objectContaining({ budget: 'prod-iam', kind: 'budget-exhausted', targets: ['slack:#security-oncall', 'slack:#platform-identity-oncall'] })]);
    expect(sent.map((n) => [n.kind, n.findingId])).toEqual([['budget-exhausted', 'budget:prod-iam']]);

    const second = (await t.env.client.workflow.execute('budgetSweep', { workflowId: `budget-sweep-${Date.now()}-2`, taskQueue: queue, args: [{}] })) as BudgetSweepResult;
    expect(second.notified).toEqual([]);
    expect(sent).toHaveLength(1);
  });
});
