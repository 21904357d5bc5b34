/**
 * One drift finding, from detection to verified closure:
 * detect → classify → route → approve → reconcile → verify → closed.
 * Deterministic: every decision that policy can change (classification, routing) comes from an
 * activity, so it is recorded in history and replay never takes another branch.
 *
 * Bounded: whatever people and systems send it, its state stays small. Answers and signals over a
 * size limit are refused (Updates) or dropped and counted (signals), the timeline keeps its first
 * and last entries, and when Temporal suggests it the lifecycle continues as new with its state.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { msToNumber, type Duration } from '@temporalio/common/lib/time';
import type { LifecycleActivities } from '../activities/lifecycle';
import { APPROVAL_LIMITS, ApprovalRefused, checkApproval, messageSizeExceeds, NO_RECONCILE_ACTIONS, type Outcome, type Stage } from '../domain/lifecycle';
import {
  approvalSignal,
  approve,
  detected,
  reject,
  rejectionSignal,
  state,
  type AnswerAccepted,
  type AnswerRecord,
  type CarriedLifecycle,
  type LifecycleInput,
  type LifecycleState,
  type TimelineEntry,
  TIMELINE_HEAD,
  TIMELINE_TAIL,
} from './messages';
import { DriftClassKey, EnvironmentKey, LifecycleStateKey, OwnerKey, RiskKey } from './search-attributes';

/**
 * Every activity does I/O and heartbeats (the worker's heartbeat interceptor): a worker killed
 * mid-activity is noticed within the heartbeat timeout and the activity retried elsewhere,
 * instead of after the whole start-to-close timeout.
 */
const acts = proxyActivities<LifecycleActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', nonRetryableErrorTypes: ['InvalidInput'] },
});

/**
 * Patch id: bounded state (capped timeline, counted refused signals), quorum of distinct
 * approvers, an approval deadline that survives continue-as-new, and continue-as-new itself.
 */
export const BOUNDED_LIFECYCLE_PATCH = 'bounded-state-quorum-continue-as-new';

/**
 * Patch id: answers must prove who gave them (a signed statement verified by the Update validator),
 * except where the unit's policy allows unauthenticated answers. Lifecycles from before keep taking
 * the `approver` as given.
 */
export const SIGNED_ANSWERS_PATCH = 'signed-answers';

/** A timeline detail is cut to this many characters (full answers are in `approvals` and evidence). */
const DETAIL_CHARS = 600;

/**
 * A run continues as new well before Temporal's own suggestion (4 MB / 4K events): a worker that
 * lost its cache replays the whole run, and history pages of large signals must stay fetchable.
 */
export const CONTINUE_AS_NEW_AT = { bytes: 1_000_000, events: 2_000, signals: 80 };

/**
 * Patch id: a run also continues as new after CONTINUE_AS_NEW_AT.signals signals, well under the
 * server's per-run signal budget (workers/server-limits.ts), so a flood is refused by the server
 * instead of growing a run that can no longer continue as new.
 */
export const SIGNAL_BUDGET_PATCH = 'continue-as-new-on-signal-count';

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text);

/** The drift lifecycle workflow (a noun; never renamed once released). */
export async function driftLifecycle(input: LifecycleInput): Promise<LifecycleState> {
  const carried: CarriedLifecycle | undefined = input.carried;
  // Histories recorded before this patch replay on the old branches; new runs take the new ones.
  const bounded = carried !== undefined || patched(BOUNDED_LIFECYCLE_PATCH);
  // A continued run keeps the rules its lifecycle started with.
  const signedAnswers = carried ? carried.signedAnswers === true : patched(SIGNED_ANSWERS_PATCH);
  const s: LifecycleState = carried
    ? { ...carried.state, observation: input.observation }
    : { findingId: input.findingId, stage: 'detect', observation: input.observation, escalations: 0, detections: 0, timeline: [] };
  if (carried) s.runs = carried.runs;
  // Evidence keys use the first run's id, so a continued run never writes a step twice.
  const ids = { findingId: s.findingId, runId: carried?.caseRunId ?? workflowInfo().runId };
  let approvalDeadline = carried?.approvalDeadline;
  const signalBudget = bounded && patched(SIGNAL_BUDGET_PATCH);
  let signalsThisRun = 0;
  const historyTooLong = () => {
    const info = workflowInfo();
    return (
      info.continueAsNewSuggested ||
      info.historySize > CONTINUE_AS_NEW_AT.bytes ||
      info.historyLength > CONTINUE_AS_NEW_AT.events ||
      (signalBudget && signalsThisRun >= CONTINUE_AS_NEW_AT.signals)
    );
  };
  let nextVerifyAttempt = carried?.nextVerifyAttempt ?? 1;

  const note = (event: string, detail?: string) => {
    const entry: TimelineEntry = { at: new Date().toISOString(), stage: s.stage, event, ...(detail ? { detail: cut(detail, DETAIL_CHARS) } : {}) };
    s.timeline.push(entry);
    if (s.timeline.length > TIMELINE_HEAD + TIMELINE_TAIL) {
      s.timeline.splice(TIMELINE_HEAD, 1);
      s.timelineDropped = (s.timelineDropped ?? 0) + 1;
    }
  };
  const enter = (stage: Stage) => {
    s.stage = stage;
    note('entered');
    upsertSearchAttributes([{ key: LifecycleStateKey, value: stage }]);
  };
  const ignoreSignal = (reason: string) => {
    const summary = (s.ignoredSignals ??= { count: 0, byReason: {} });
    summary.count++;
    summary.byReason[reason] = (summary.byReason[reason] ?? 0) + 1;
    summary.lastAt = new Date().toISOString();
  };

  // ---- messages -------------------------------------------------------------------------------
  setHandler(state, () => s);
  setHandler(detected, (raw) => {
    signalsThisRun++;
    if (messageSizeExceeds(raw, 1024)) return ignoreSignal('detected: too large');
    s.detections++;
    if (s.detections > 1) note('detected again', `${String(raw?.detector)} at ${String(raw?.detectedAt)}`);
  });
  const required = () => (bounded ? Math.max(1, s.route?.requiredApprovals ?? 1) : 1);
  const approvalContext = (answer: 'approved' | 'rejected') => ({
    ...(signedAnswers
      ? {
          identity: {
            findingId: s.findingId,
            answer,
            now: Date.now(),
            trust: input.trust?.keys ?? [],
            // A route without the flag (routed by a policy source that predates it) decides by environment.
            allowUnauthenticated: s.route?.allowUnauthenticated ?? !['prod', 'production'].includes(s.decision?.environment ?? 'prod'),
          },
        }
      : {}),
    awaiting: s.stage === 'approve' && s.answer === undefined && s.route !== undefined && s.outcome === undefined,
    approvers: s.route?.approvers ?? [],
    driftActor: s.observation.auditCorrelation?.actor.id,
    ...(s.route?.actor?.person ? { actorPerson: s.route.actor.person } : {}),
    alreadyApproved: (s.approvals ?? []).map((a) => a.approver),
    maxReasonBytes: s.route?.maxReasonBytes ?? APPROVAL_LIMITS.reasonBytes,
  });
  const accept = (answer: 'approved' | 'rejected', raw: unknown): AnswerAccepted => {
    const ok = checkApproval(raw, approvalContext(answer));
    const record: AnswerRecord = {
      answer,
      approver: ok.approver,
      reason: ok.reason,
      via: ok.via ?? 'api',
      at: new Date().toISOString(),
      ...(ok.authenticated !== undefined ? { authenticated: ok.authenticated } : {}),
      ...(ok.statement ? { statement: ok.statement } : {}),
    };
    if (answer === 'rejected') {
      // One rejection from a listed approver rejects.
      s.answer = record;
      note('rejected', `${ok.approver}: ${ok.reason}`);
    } else {
      const approvals = (s.approvals ??= []);
      approvals.push(record);
      const need = required();
      if (approvals.length >= need) s.answer = record;
      note('approved', `${ok.approver} (${approvals.length} of ${need}): ${ok.reason}`);
      return { findingId: s.findingId, answer, approver: ok.approver, approvals: approvals.length, required: need };
    }
    return { findingId: s.findingId, answer, approver: ok.approver };
  };
  // Updates: a rejected validation leaves no trace in history. The handler checks again; should
  // that ever fail (another answer was taken first), it must fail the update, not the workflow
  // task: a plain Error there would retry the task forever.
  const validate = (answer: 'approved' | 'rejected') => (raw: unknown) => void checkApproval(raw, approvalContext(answer));
  const acceptUpdate = (answer: 'approved' | 'rejected', raw: unknown): AnswerAccepted => {
    try {
      return accept(answer, raw);
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidApproval');
    }
  };
  setHandler(approve, (raw) => acceptUpdate('approved', raw), { validator: validate('approved'), description: 'Approve the reconciliation: {"approver": "you@example.com", "reason": "why"}' });
  setHandler(reject, (raw) => acceptUpdate('rejected', raw), { validator: validate('rejected'), description: 'Reject the reconciliation: {"approver": "you@example.com", "reason": "why"}' });
  // Signals cannot be refused: an invalid one is counted by its reason; its body is never kept.
  for (const [signal, answer] of [[approvalSignal, 'approved'], [rejectionSignal, 'rejected']] as const) {
    setHandler(signal, (raw) => {
      signalsThisRun++;
      const kind = answer === 'approved' ? 'approval' : 'rejection';
      try {
        accept(answer, raw && typeof raw === 'object' && !Array.isArray(raw) ? { via: 'temporal-ui', ...(raw as object) } : raw);
      } catch (err) {
        if (!bounded) return void note(`ignored invalid ${kind}`, (err as Error).message);
        const code = err instanceof ApprovalRefused ? err.code : 'invalid';
        ignoreSignal(`${kind}: ${code}`);
        // The first of each kind is noted (the message never holds more than a short escaped name); the rest are counted.
        if (s.ignoredSignals?.byReason[`${kind}: ${code}`] === 1) note(`ignored invalid ${kind}`, (err as Error).message);
      }
    });
  }

  /** Continues as new with the state, when Temporal suggests it (the history grew long). */
  const carryOnIfSuggested = async (): Promise<void> => {
    if (!bounded || !historyTooLong()) return;
    await condition(allHandlersFinished);
    const { observation: _observation, ...rest } = s;
    const next: CarriedLifecycle = {
      caseRunId: ids.runId,
      runs: (s.runs ?? 0) + 1,
      state: { ...rest, runs: (s.runs ?? 0) + 1 },
      ...(approvalDeadline !== undefined ? { approvalDeadline } : {}),
      nextVerifyAttempt,
      ...(signedAnswers ? { signedAnswers } : {}),
    };
    await continueAsNew<typeof driftLifecycle>({ findingId: input.findingId, observation: input.observation, carried: next, ...(input.trust ? { trust: input.trust } : {}) });
  };

  if (!carried) {
    // ---- detect -------------------------------------------------------------------------------
    note('entered');
    s.evidenceUri = (await acts.recordDetection({ ...ids, observation: s.observation })).evidenceUri;
  } else {
    note('continued', `run ${carried.runs + 1} of this lifecycle (the history grew long)`);
  }

  // ---- classify -------------------------------------------------------------------------------
  if (!s.decision) {
    await carryOnIfSuggested();
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
  }
  const decision = s.decision;

  // ---- route ----------------------------------------------------------------------------------
  if (!s.route) {
    await carryOnIfSuggested();
    enter('route');
    s.route = await acts.routeFinding({ ...ids, observation: s.observation, decision });
    if (s.route.actor) {
      const a = s.route.actor;
      note('actor', a.person ? `${a.id} is ${a.person} (matched ${a.matched})` : `${a.id} (${a.type}) could not be resolved: ${a.unresolved}`);
    }
    for (const why of s.route.approvalNotes ?? []) note('approvals required', why);
  }
  const route = s.route;

  // ---- approve --------------------------------------------------------------------------------
  const needsReconcile = !NO_RECONCILE_ACTIONS.includes(decision.recommendedAction);
  if (s.stage === 'route' || (s.stage === 'approve' && s.answer === undefined && s.outcome === undefined)) {
    if (s.stage === 'route') enter('approve');
    if (!needsReconcile) {
      note('no approval needed', `action ${decision.recommendedAction}`);
    } else if (decision.autoHealAllowed) {
      await acts.recordApproval({ ...ids, approval: { kind: 'auto-heal', decision } });
      note('auto-approved', 'auto-heal allowed by policy');
    } else {
      if (bounded && required() > 1 && !carried) note('awaiting approvals', `${required()} distinct approvers must approve`);
      while (s.answer === undefined) {
        let answered: boolean;
        if (bounded) {
          approvalDeadline ??= Date.now() + msToNumber(route.approvalTimeout as Duration);
          answered = await condition(() => s.answer !== undefined || historyTooLong(), Math.max(1, approvalDeadline - Date.now()));
          if (s.answer !== undefined) break;
          if (answered) {
            await carryOnIfSuggested();
            continue;
          }
        } else {
          answered = await condition(() => s.answer !== undefined, route.approvalTimeout);
          if (answered) break;
        }
        if (s.escalations >= route.maxEscalations) {
          s.outcome = 'EXPIRED';
          note('expired', `no answer after ${s.escalations} escalation(s)`);
          break;
        }
        s.escalations++;
        approvalDeadline = undefined;
        await acts.escalate({ ...ids, level: s.escalations, observation: s.observation, decision, route });
        note('escalated', `level ${s.escalations}`);
      }
      approvalDeadline = undefined;
      if (s.answer) {
        await acts.recordApproval({
          ...ids,
          approval: { kind: 'person', answer: s.answer, decision, ...(bounded && s.approvals?.length ? { approvals: s.approvals, required: required() } : {}) },
        });
      }
      if (s.answer?.answer === 'rejected') s.outcome = 'REJECTED';
    }
    if (s.outcome === undefined && !needsReconcile) s.outcome = 'NO_ACTION';
  }

  // ---- reconcile and verify -------------------------------------------------------------------
  if (s.outcome === undefined) {
    if (s.stage === 'approve') {
      await carryOnIfSuggested();
      enter('reconcile');
      const result = await acts.reconcile({ ...ids, observation: s.observation, decision, approvedBy: s.answer?.approver ?? 'policy:auto-heal' });
      note(result.executed ? 'reconciled' : 'recorded', result.detail);
      enter('verify');
    }
    for (let attempt = nextVerifyAttempt; attempt <= route.verifyAttempts; attempt++) {
      const check = await acts.verifyClosure({ ...ids, observation: s.observation, attempt });
      note(check.clean ? 'verified' : 'still drifted', check.detail);
      if (check.clean) {
        s.outcome = 'RECONCILED';
        break;
      }
      nextVerifyAttempt = attempt + 1;
      if (attempt < route.verifyAttempts) {
        await sleep(route.verifyInterval);
        await carryOnIfSuggested();
      }
    }
    s.outcome ??= 'UNVERIFIED';
  }

  // ---- closed ---------------------------------------------------------------------------------
  enter('closed');
  const outcome: Outcome = s.outcome;
  await acts.closeFinding({ ...ids, outcome, escalations: s.escalations, detections: s.detections });
  note('closed', outcome);
  await condition(allHandlersFinished);
  return s;
}
