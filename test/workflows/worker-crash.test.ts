import { Client, Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EvidenceStore } from '../../evidence/evidence-store';
import { LocalPlanes } from '../../activities/local-planes/local-planes';
import { answerFinding } from '../../cli/commands/lifecycle';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import type { LifecycleState } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import type { Config } from '../../workers/config';
import { repoRoot } from '../support/shared-fixtures';
import { awaitingApproval, testConfig, waitForState, workflowBundle } from '../support/lifecycle-harness';

// The production worker entrypoint, as a separate process we can SIGKILL mid-lifecycle.
let config: Config;
let bundleFile: string;
let connection: Connection;
let client: Client;
const workers: ChildProcess[] = [];

function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'workers', 'main.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: config.temporalAddress,
      DRIFTPLANE_HOME: config.home,
      DRIFTPLANE_TASK_QUEUE: config.taskQueue,
      DRIFTPLANE_REGISTRY: config.registryDir,
      DRIFTPLANE_VERIFY_INTERVAL: '1s',
      // Production mode: the prebuilt workflow bundle, as `npm run build:bundle` writes it.
      DRIFTPLANE_WORKFLOW_BUNDLE: bundleFile,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  workers.push(child);
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('driftplane worker:')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code}): ${err}`)));
  });
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

beforeAll(async () => {
  config = await testConfig(inject('temporalAddress'));
  bundleFile = path.join(config.home, 'workflow-bundle.js');
  await writeFile(bundleFile, (await workflowBundle()).code);
  connection = await Connection.connect({ address: config.temporalAddress });
  client = new Client({ connection });
});

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) await kill9(w);
  await connection?.close();
});

describe('a worker killed with SIGKILL in the middle of a lifecycle', () => {
  it('is replaced, and the lifecycle finishes with no side effect done twice', async () => {
    await seedDemoSandbox(config.planesDir, new Date());
    const first = await startWorker();
    const scan = (await client.workflow.execute('unitScan', {
      workflowId: `scan:checkout-web-prod:crash:${Date.now()}`,
      taskQueue: config.taskQueue,
      args: [{ unit: 'checkout-web-prod' }],
    })) as UnitScanResult;
    if (scan.status !== 'drift') throw new Error(`expected drift: ${JSON.stringify(scan)}`);
    const f = scan.findings[0]!;

    await waitForState(client, f.workflowId, awaitingApproval);
    await kill9(first);
    expect(first.signalCode).toBe('SIGKILL');

    // With no worker the approval cannot be taken; a fresh worker process picks the lifecycle up from history.
    await startWorker();
    await answerFinding(client, f.findingId, 'approve', { approver: 'maria.lopez@acme.example', reason: 'approved across a worker crash' }, 60_000);
    const s = (await client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
    expect(s.outcome).toBe('RECONCILED');

    const records = await new EvidenceStore(config.evidenceDir).read(f.findingId);
    expect(records.map((r) => r.step)).toEqual(['detected', 'classified', 'routed', 'approval', 'reconciled', 'verified-1', 'closed']);
    expect(new Set(records.map((r) => r.key)).size).toBe(records.length);
    expect((await new EvidenceStore(config.evidenceDir).verify(f.findingId)).ok).toBe(true);
    // The revert ran exactly once.
    expect(await new LocalPlanes(config.planesDir).ledger('checkout-web-prod')).toHaveLength(1);
  });
});
