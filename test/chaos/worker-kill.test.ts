/**
 * Chaos: a worker process is killed with SIGKILL while a lifecycle is in each of its working
 * stages (classify, route, reconcile, verify). The killed worker had finished the stage's work
 * (chaos-hold.ts parks the activity after it ran, so its side effects and evidence are done but
 * Temporal was never told); a fresh worker process takes the lifecycle over after the heartbeat
 * timeout, and the lifecycle finishes with every side effect done once: one revert in the ledger,
 * one RevokeSecurityGroupIngress reaching AWS (moto's request recorder), unique evidence steps.
 * Classify and route are local activities in a lean lifecycle: they run inside a workflow task, so
 * the killed worker's task times out and the new worker runs the step again (its evidence append is
 * idempotent); reconcile and verify are activities, retried after the heartbeat timeout.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LifecycleState } from '../../workflows/messages';
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
  scanOne,
} from '../support/chaos-lifecycle';
import { chaosWorkers } from '../support/chaos-workers';
import { awaitingApproval, waitForState } from '../support/lifecycle-helpers';

let moto: RecordingMoto;

beforeAll(async () => {
  moto = await startRecordingMoto();
});

afterAll(async () => {
  await moto?.stop();
});

/** The stage, and the activity that does its work. */
const STAGES = [
  { stage: 'classify', activity: 'classifyFinding', local: true },
  { stage: 'route', activity: 'routeFinding', local: true },
  { stage: 'reconcile', activity: 'reconcile', local: false },
  { stage: 'verify', activity: 'verifyClosure', local: false },
] as const;

const APPROVERS = [DEMO_AWS_APPROVER, DEMO_AWS_SECOND_APPROVER];
const count = (xs: string[], x: string) => xs.filter((y) => y === x).length;

describe('a worker killed with SIGKILL in each stage of an AWS security-group revert', () => {
  it.each(STAGES)(
    '$stage: a fresh worker finishes the lifecycle, the revert reaches AWS once',
    async ({ stage, activity, local }) => {
      const w = await chaosWorkers(inject('temporalAddress'));
      try {
        await moto.seed(w.config.home);
        expect(await sandboxIngress(moto.endpoint)).toEqual([
          'tcp/22-22 0.0.0.0/0',
          'tcp/443-443 10.0.0.0/8',
        ]);
        const env = sandboxWorkerEnv(moto.endpoint, w.config.home);
        const first = await w.start({ hold: activity, env });

        const f = await scanOne(w.client, w.config.taskQueue, DEMO_AWS_UNIT);
        const before = ['reconcile', 'verify'].includes(stage);
        if (before) {
          await waitForState(w.client, f.workflowId, awaitingApproval, 60_000);
          await approveAs(w.client, f.findingId, APPROVERS);
        }

        // The stage's work is done in the first worker, which now holds the attempt open.
        const marker = path.join(w.holdDir, `${activity}.json`);
        await eventually(
          `${activity} to be held`,
          async () => (existsSync(marker) ? true : undefined),
          90_000,
        );
        expect(JSON.parse(readFileSync(marker, 'utf8'))).toMatchObject({
          attempt: 1,
          workflowId: f.workflowId,
        });
        const during = await w.client.workflow.getHandle(f.workflowId).query<LifecycleState>('state');
        expect(during.stage).toBe(stage);
        expect(during.outcome).toBeUndefined();
        const revokesBeforeKill = count(await moto.actions(), 'RevokeSecurityGroupIngress');
        // Held after reconcile ran: the rule is already revoked when the worker dies.
        expect(revokesBeforeKill).toBe(stage === 'reconcile' || stage === 'verify' ? 1 : 0);

        await w.kill9(first);
        expect(first.signalCode).toBe('SIGKILL');
        await w.start({ env });
        if (!before) {
          await waitForState(w.client, f.workflowId, awaitingApproval, 90_000);
          await approveAs(w.client, f.findingId, APPROVERS);
        }
        const s = (await w.client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
        expect(s.outcome).toBe('RECONCILED');

        const retried = await failedAttempts(w.client, f.workflowId);
        if (local) {
          // The killed worker's workflow task (running the local activity) timed out; nothing else was retried.
          const history = await w.client.workflow.getHandle(f.workflowId).fetchHistory();
          const timedOut = (history.events ?? []).filter((e) => e.workflowTaskTimedOutEventAttributes);
          expect(timedOut.length).toBeGreaterThan(0);
          expect(retried).toEqual([]);
        } else {
          // The killed attempt was retried by the new worker (its heartbeats stopped): the kill hit this stage.
          expect(retried.map((a) => a.activityType)).toContain(activity);
          expect(retried.filter((a) => a.activityType !== activity)).toEqual([]);
        }

        // Side effects once: AWS saw one revoke and nothing re-authorized; the group holds its recorded rule only.
        const actions = await moto.actions();
        expect(count(actions, 'RevokeSecurityGroupIngress')).toBe(1);
        expect(count(actions, 'AuthorizeSecurityGroupIngress')).toBe(0);
        expect(await sandboxIngress(moto.endpoint)).toEqual(['tcp/443-443 10.0.0.0/8']);

        const ev = await evidenceOf(w.config.evidenceDir, f.findingId);
        expect(ev.duplicateSteps).toEqual([]);
        expect(ev.duplicateKeys).toEqual([]);
        expect(ev.chainOk).toBe(true);
        expect(ev.steps.filter((x) => x.startsWith('reconciled'))).toEqual(['reconciled']);
        expect(ev.steps.at(-1)).toBe('closed');

        const ledger = await ledgerOf(w.config.ledger.url, f.findingId);
        expect(ledger).toMatchObject({ stage: 'closed', outcome: 'RECONCILED' });
        const reverts = ledger.steps.filter((x) => x.step.startsWith('reconciled'));
        expect(reverts).toHaveLength(1);
        expect(reverts[0]!.summary).toMatchObject({
          executed: true,
          detail: expect.stringMatching(/revoked 1 rule/) as unknown,
        });
      } finally {
        await w.close();
      }
    },
  );
});
