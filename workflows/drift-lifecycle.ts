/**
 * One drift finding, from detection to verified closure:
 * detect → classify → route → approve → reconcile → verify → closed.
 * Deterministic: every decision that policy can change (classification, routing) comes from an
 * activity, so it is recorded in history and replay never takes another branch.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { LifecycleActivities } from '../activities/lifecycle';
import { checkApproval, NO_RECONCILE_ACTIONS, type Outcome, type Stage } from '../domain/lifecycle';
import {
  approvalSignal,
  approve,
  detected,
  reject,
  rejectionSignal,
  state,
  type AnswerAccepted,
  type LifecycleInput,
  type LifecycleState,
} from './messages';
import { DriftClassKey, EnvironmentKey, LifecycleStateKey, OwnerKey, RiskKey } from './search-attributes';

const acts = proxyActivities<LifecycleActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', nonRetryableErrorTypes: ['InvalidInput'] },
});

/** The drift lifecycle workflow (a noun; never renamed once released). */
export async function driftLifecycle(input: LifecycleInput): Promise<LifecycleState> {
  const s: LifecycleState = {
    findingId: input.findingId,
    stage: 'detect',
    observation: input.observation,
    escalations: 0,
    detections: 0,
    timeline: [],
  };
  const runId = workflowInfo().runId;
  const ids = { findingId: s.findingId, runId };
  const note = (event: string, detail?: string) =>
    s.timeline.push({ at: new Date().toISOString(), stage: s.stage, event, ...(detail ? { detail } : {}) });
  const enter = (stage: Stage) => {
    s.stage = stage;
    note('entered');
    upsertSearchAttributes([{ key: LifecycleStateKey, value: stage }]);
  };

  // ---- messages -------------------------------------------------------------------------------
  setHandler(state, () => s);
  setHandler(detected, ({ detectedAt, detector }) => {
    s.detections++;
    if (s.detections > 1) note('detected again', `${detector} at ${detectedAt}`);
  });
  const approvalContext = () => ({
    awaiting: s.stage === 'approve' && s.answer === undefined && s.route !== undefined && s.outcome === undefined,
    approvers: s.route?.approvers ?? [],
    driftActor: s.observation.auditCorrelation?.actor.id,
  });
  const accept = (answer: 'approved' | 'rejected', raw: unknown): AnswerAccepted => {
    const ok = checkApproval(raw, approvalContext());
    s.answer = { answer, approver: ok.approver, reason: ok.reason, via: ok.via ?? 'api', at: new Date().toISOString() };
    note(answer, `${ok.approver}: ${ok.reason}`);
    return { findingId: s.findingId, answer, approver: ok.approver };
  };
  // Updates: a rejected validation leaves no trace in history. The handler checks again; should
  // that ever fail (another answer was taken first), it must fail the update, not the workflow
  // task: a plain Error there would retry the task forever.
  const validate = (raw: unknown) => void checkApproval(raw, approvalContext());
  const acceptUpdate = (answer: 'approved' | 'rejected', raw: unknown): AnswerAccepted => {
    try {
      return accept(answer, raw);
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidApproval');
    }
  };
  setHandler(approve, (raw) => acceptUpdate('approved', raw), { validator: validate, description: 'Approve the reconciliation: {"approver": "you@example.com", "reason": "why"}' });
  setHandler(reject, (raw) => acceptUpdate('rejected', raw), { validator: validate, description: 'Reject the reconciliation: {"approver": "you@example.com", "reason": "why"}' });
  // Signals cannot be refused, so an invalid one is recorded and ignored.
  for (const [signal, answer] of [[approvalSignal, 'approved'], [rejectionSignal, 'rejected']] as const) {
    setHandler(signal, (raw) => {
      try {
        accept(answer, { via: 'temporal-ui', ...(raw as object) });
      } catch (err) {
        note(`ignored invalid ${answer === 'approved' ? 'approval' : 'rejection'}`, (err as Error).message);
      }
    });
  }

  // ---- detect ---------------------------------------------------------------------------------
  note('entered');
  s.evidenceUri = (await acts.recordDetection({ ...ids, observation: s.observation })).evidenceUri;

  // ---- classify -------------------------------------------------------------------------------
  enter('classify');
  const decision = await acts.classifyFinding({ ...ids, observation: s.observation });
  s.decision = decision;
  upsertSearchAttributes([
    { key: DriftClassKey, value: decision.driftClass },
    { key: RiskKey, value: decision.risk },
    { key: OwnerKey, value: decision.owner },
    { key: EnvironmentKey, value: decision.environment },
  ]);
  note('classified', `${decision.driftClass} ${decision.risk} → ${decision.recommendedAction}`);

  // ---- route ----------------------------------------------------------------------------------
  enter('route');
  const route = await acts.routeFinding({ ...ids, observation: s.observation, decision });
  s.route = route;

  // ---- approve --------------------------------------------------------------------------------
  enter('approve');
  const needsReconcile = !NO_RECONCILE_ACTIONS.includes(decision.recommendedAction);
  if (!needsReconcile) {
    note('no approval needed', `action ${decision.recommendedAction}`);
  } else if (decision.autoHealAllowed) {
    await acts.recordApproval({ ...ids, approval: { kind: 'auto-heal', decision } });
    note('auto-approved', 'auto-heal allowed by policy');
  } else {
    while (s.answer === undefined) {
      const answered = await condition(() => s.answer !== undefined, route.approvalTimeout);
      if (answered) break;
      if (s.escalations >= route.maxEscalations) {
        s.outcome = 'EXPIRED';
        note('expired', `no answer after ${s.escalations} escalation(s)`);
        break;
      }
      s.escalations++;
      await acts.escalate({ ...ids, level: s.escalations, observation: s.observation, decision, route });
      note('escalated', `level ${s.escalations}`);
    }
    if (s.answer) await acts.recordApproval({ ...ids, approval: { kind: 'person', answer: s.answer, decision } });
    if (s.answer?.answer === 'rejected') s.outcome = 'REJECTED';
  }

  // ---- reconcile and verify -------------------------------------------------------------------
  if (s.outcome === undefined && !needsReconcile) s.outcome = 'NO_ACTION';
  if (s.outcome === undefined) {
    enter('reconcile');
    const result = await acts.reconcile({ ...ids, observation: s.observation, decision, approvedBy: s.answer?.approver ?? 'policy:auto-heal' });
    note(result.executed ? 'reconciled' : 'recorded', result.detail);

    enter('verify');
    s.outcome = 'UNVERIFIED';
    for (let attempt = 1; attempt <= route.verifyAttempts; attempt++) {
      const check = await acts.verifyClosure({ ...ids, observation: s.observation, attempt });
      note(check.clean ? 'verified' : 'still drifted', check.detail);
      if (check.clean) {
        s.outcome = 'RECONCILED';
        break;
      }
      if (attempt < route.verifyAttempts) await sleep(route.verifyInterval);
    }
  }

  // ---- closed ---------------------------------------------------------------------------------
  enter('closed');
  const outcome: Outcome = s.outcome;
  await acts.closeFinding({ ...ids, outcome, escalations: s.escalations, detections: s.detections });
  note('closed', outcome);
  await condition(allHandlersFinished);
  return s;
}

