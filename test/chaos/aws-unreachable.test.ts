/**
 * Chaos: AWS becomes unreachable while a lifecycle reconciles. The worker reaches moto through a
 * relay (chaos-proxy.ts) that the test takes down: connections are refused and reset, as when the
 * network to AWS fails. moto keeps no state across a restart (its backends live in the server's
 * memory), and a re-seed would give the security group a new id and re-create the drift; AWS
 * itself never forgets its resources when the network drops, so the relay is the faithful outage.
 *
 * The reconcile activity must fail retryably and back off (the server's retry interval grows
 * attempt by attempt), nothing may be reported RECONCILED (state, search attribute, ledger,
 * evidence) while AWS is away, and the lifecycle finishes once the relay is back, with the revert
 * done once.
 */
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LifecycleState } from '../../workflows/messages';
import { LifecycleStateKey } from '../../workflows/search-attributes';
import {
  DEMO_AWS_APPROVER,
  DEMO_AWS_SECOND_APPROVER,
  DEMO_AWS_UNIT,
  sandboxIngress,
  sandboxWorkerEnv,
  startRecordingMoto,
  type RecordingMoto,
} from '../support/chaos-aws';
import {
  approveAs,
  evidenceOf,
  eventually,
  failedAttempts,
  ledgerOf,
  pendingActivities,
  scanOne,
} from '../support/chaos-lifecycle';
import { startRelay, type Relay } from '../support/chaos-proxy';
import { chaosWorkers, type ChaosWorkers } from '../support/chaos-workers';
import { awaitingApproval, waitForState } from '../support/lifecycle-helpers';

let moto: RecordingMoto;
let relay: Relay;
let w: ChaosWorkers;

beforeAll(async () => {
  moto = await startRecordingMoto();
  relay = await startRelay(moto.port);
  w = await chaosWorkers(inject('temporalAddress'));
});

afterAll(async () => {
  await w?.close();
  await relay?.close();
  await moto?.stop();
});

const WAITING = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED;
const seconds = (d: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(d?.seconds ?? 0) + (d?.nanos ?? 0) / 1e9;

describe('AWS unreachable during reconcile', () => {
  it('retries with growing backoff, reports nothing reconciled while AWS is away, and finishes once it is back', async () => {
    await moto.seed(w.config.home);
    await w.start({ env: sandboxWorkerEnv(relay.endpoint, w.config.home) });
    const f = await scanOne(w.client, w.config.taskQueue, DEMO_AWS_UNIT);
    await waitForState(w.client, f.workflowId, awaitingApproval, 60_000);

    await relay.down();
    await approveAs(w.client, f.findingId, [DEMO_AWS_APPROVER, DEMO_AWS_SECOND_APPROVER]);

    // Each failed attempt waits longer than the one before (initial 2 s, coefficient 2).
    const intervals = new Map<number, number>();
    let lastFailure: { message?: string | null; type?: string | null; nonRetryable?: boolean | null } = {};
    await eventually(
      'three failed attempts of reconcile',
      async () => {
        const a = (await pendingActivities(w.client, f.workflowId)).find(
          (p) => p.activityType?.name === 'reconcile',
        );
        // Read while it waits for its next attempt: the interval is then the wait before that attempt
        // (while an attempt runs, it is the interval that would follow it).
        if (a?.lastFailure && a.currentRetryInterval && a.state === WAITING) {
          if (!intervals.has(a.attempt ?? 0)) intervals.set(a.attempt ?? 0, seconds(a.currentRetryInterval));
          const app = a.lastFailure.applicationFailureInfo;
          lastFailure = {
            message: [a.lastFailure.message, a.lastFailure.cause?.message].filter(Boolean).join(' <- '),
            type: app?.type,
            nonRetryable: app?.nonRetryable,
          };
        }
        return (a?.attempt ?? 0) >= 3 && intervals.size >= 2 ? true : undefined;
      },
      60_000,
      100,
    );
    // A named, retryable failure (the unit's STS call, its first request to AWS, is refused).
    expect(lastFailure.nonRetryable).toBeFalsy();
    expect(lastFailure.type).toMatch(/Transient$/);
    expect(lastFailure.message).toMatch(/ECONNREFUSED|ECONNRESET|socket hang up/);
    const byAttempt = [...intervals.entries()].sort(([a], [b]) => a - b).map(([, s]) => s);
    for (let i = 1; i < byAttempt.length; i++) expect(byAttempt[i]).toBeGreaterThan(byAttempt[i - 1]!);

    // Meanwhile nothing says reconciled: not the lifecycle, not its search attribute, not the ledger, not evidence, not AWS.
    const s = await w.client.workflow.getHandle(f.workflowId).query<LifecycleState>('state');
    expect(s.stage).toBe('reconcile');
    expect(s.outcome).toBeUndefined();
    expect(
      (await w.client.workflow.getHandle(f.workflowId).describe()).typedSearchAttributes.get(
        LifecycleStateKey,
      ),
    ).toBe('reconcile');
    const ledger = await ledgerOf(w.config.ledger.url, f.findingId);
    expect(ledger.stage).toBe('approved');
    expect(ledger.outcome ?? null).toBeNull();
    expect(ledger.steps.map((x) => x.step).filter((x) => /^(reconciled|verified|closed)/.test(x))).toEqual(
      [],
    );
    const ev = await evidenceOf(w.config.evidenceDir, f.findingId);
    expect(ev.steps.filter((x) => /^(reconciled|verified|closed)/.test(x))).toEqual([]);
    expect(await moto.actions()).not.toContain('RevokeSecurityGroupIngress');
    expect(await sandboxIngress(moto.endpoint)).toContain('tcp/22-22 0.0.0.0/0');

    await relay.up();
    const done = (await w.client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
    expect(done.outcome).toBe('RECONCILED');

    const retried = await failedAttempts(w.client, f.workflowId);
    expect(retried.find((a) => a.activityType === 'reconcile')?.attempt).toBeGreaterThanOrEqual(3);
    expect(
      await moto.actions().then((xs) => xs.filter((x) => x === 'RevokeSecurityGroupIngress')),
    ).toHaveLength(1);
    expect(await sandboxIngress(moto.endpoint)).toEqual(['tcp/443-443 10.0.0.0/8']);
    const after = await evidenceOf(w.config.evidenceDir, f.findingId);
    expect(after.duplicateSteps).toEqual([]);
    expect(after.chainOk).toBe(true);
    expect(after.steps.filter((x) => x.startsWith('reconciled'))).toEqual(['reconciled']);
    expect(await ledgerOf(w.config.ledger.url, f.findingId)).toMatchObject({
      stage: 'closed',
      outcome: 'RECONCILED',
    });
  });
});
