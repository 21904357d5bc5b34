import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EvidenceStore } from '../../evidence/evidence-store';
import { LocalPlanes } from '../../activities/local-planes/local-planes';
import { answerFinding } from '../support/approver-keys';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import type { LifecycleState } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import type { Config } from '../../workers/config';
import { awaitingApproval, waitForState } from '../support/lifecycle-harness';
import { workerProcesses, type WorkerProcesses } from '../support/worker-process';

// The production worker entrypoint, as a separate process we can SIGKILL mid-lifecycle.
let procs: WorkerProcesses;
let config: Config;
let client: Client;

beforeAll(async () => {
  procs = await workerProcesses(inject('temporalAddress'));
  ({ config, client } = procs);
});

afterAll(async () => {
  await procs?.close();
});

describe('a worker killed with SIGKILL in the middle of a lifecycle', () => {
  it('is replaced, and the lifecycle finishes with no side effect done twice', async () => {
    await seedDemoSandbox(config.planesDir, new Date());
    const first = await procs.start();
    const scan = (await client.workflow.execute('unitScan', {
      workflowId: `scan:checkout-web-prod:crash:${Date.now()}`,
      taskQueue: config.taskQueue,
      args: [{ unit: 'checkout-web-prod' }],
    })) as UnitScanResult;
    if (scan.status !== 'drift') throw new Error(`expected drift: ${JSON.stringify(scan)}`);
    const f = scan.findings[0]!;

    await waitForState(client, f.workflowId, awaitingApproval);
    await procs.kill9(first);
    expect(first.signalCode).toBe('SIGKILL');

    // With no worker the approval cannot be taken; a fresh worker process picks the lifecycle up from history.
    await procs.start();
    await answerFinding(client, f.findingId, 'approve', { approver: 'maria.lopez@acme.example', reason: 'approved across a worker crash' }, 60_000);
    const s = (await client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
    expect(s.outcome).toBe('RECONCILED');

    const records = await new EvidenceStore(config.evidenceDir).read(f.findingId);
    expect(records.map((r) => r.step)).toEqual(['detected', 'classified', 'routed', 'incident-opened', 'approval', 'reconciled', 'verified-1', 'closed']);
    expect(new Set(records.map((r) => r.key)).size).toBe(records.length);
    expect((await new EvidenceStore(config.evidenceDir).verify(f.findingId)).ok).toBe(true);
    // The revert ran exactly once.
    expect(await new LocalPlanes(config.planesDir).ledger('checkout-web-prod')).toHaveLength(1);
  });
});
