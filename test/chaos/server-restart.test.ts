/**
 * Chaos: the Temporal server is killed with SIGKILL while a lifecycle waits for approval, and
 * started again on the same SQLite database file and port. The worker process (production
 * entrypoint) rides the outage out; the approval, signed as production units require, then goes
 * through, the lifecycle (the same run) reaches RECONCILED, and no evidence step is written twice.
 */
import { Client, Connection } from '@temporalio/client';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPlanes } from '../../activities/local-planes/local-planes';
import { DEMO_APPROVER, seedDemoSandbox } from '../../cli/demo-sandbox';
import type { LifecycleState } from '../../workflows/messages';
import { startFileDevServer, type FileDevServer } from '../support/chaos-dev-server';
import { approveAs, evidenceOf, ledgerOf, scanOne } from '../support/chaos-lifecycle';
import { chaosWorkers, type ChaosWorkers } from '../support/chaos-workers';
import { awaitingApproval, waitForState } from '../support/lifecycle-helpers';

let tmp: string;
let server: FileDevServer;
let w: ChaosWorkers;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'driftplane-chaos-server-'));
  server = await startFileDevServer(path.join(tmp, 'temporal.db'), path.join(tmp, 'temporal.log'));
  w = await chaosWorkers(server.address);
  await seedDemoSandbox(w.config.planesDir, new Date());
  await w.start();
});

afterAll(async () => {
  await w?.close();
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the Temporal server killed with SIGKILL while a lifecycle waits for approval', () => {
  it('restarts on the same database file; the signed approval goes through and the same run closes RECONCILED', async () => {
    const f = await scanOne(w.client, w.config.taskQueue, 'checkout-web-prod');
    await waitForState(w.client, f.workflowId, awaitingApproval, 60_000);
    const before = await evidenceOf(w.config.evidenceDir, f.findingId);

    const killed = server.process()!;
    await server.kill9();
    expect(killed.signalCode).toBe('SIGKILL');
    await server.restart();

    // A client of the restarted server: the lifecycle is still there, waiting, in the same run.
    const connection = await Connection.connect({ address: server.address });
    try {
      const client = new Client({ connection });
      const handle = client.workflow.getHandle(f.workflowId);
      expect((await handle.describe()).runId).toBe(f.runId);
      await waitForState(client, f.workflowId, awaitingApproval, 90_000);
      await approveAs(client, f.findingId, [DEMO_APPROVER], 90_000);
      const s = (await handle.result()) as LifecycleState;
      expect(s.outcome).toBe('RECONCILED');
      expect(s.answer).toMatchObject({ approver: DEMO_APPROVER, authenticated: true });
    } finally {
      await connection.close();
    }

    const ev = await evidenceOf(w.config.evidenceDir, f.findingId);
    expect(ev.steps).toEqual([...before.steps, 'approval', 'reconciled', 'verified-1', 'closed']);
    expect(ev.duplicateSteps).toEqual([]);
    expect(ev.duplicateKeys).toEqual([]);
    expect(ev.chainOk).toBe(true);
    expect(new Set(ev.records.map((r) => r.runId))).toEqual(new Set([f.runId]));
    expect(await new LocalPlanes(w.config.planesDir).ledger('checkout-web-prod')).toHaveLength(1);
    expect(await ledgerOf(w.config.ledger.url, f.findingId)).toMatchObject({
      stage: 'closed',
      outcome: 'RECONCILED',
    });
  });
});
