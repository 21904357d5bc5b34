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
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions, LocalActivityOptions, SearchAttributeUpdatePair } from '@temporalio/common';
import { msToNumber, type Duration } from '@temporalio/common/lib/time';
import type { LifecycleActivities } from '../activities/lifecycle';
import { APPROVAL_LIMITS, ApprovalRefused, checkApproval, messageSizeExceeds, needsReconciliation, type Outcome, type Stage } from '../domain/lifecycle';
import {
  approvalSignal,
  approve,
  detected,
  pullRequestClosed,
  reject,
  rejectionSignal,
  state,
  type AnswerAccepted,
  type AnswerRecord,
  type CarriedLifecycle,
  type LifecycleInput,
  type LifecycleState,
  type PullRequestClosed,
  type TimelineEntry,
  TIMELINE_HEAD,
  TIMELINE_TAIL,
} from './messages';
import { DriftClassKey, EnvironmentKey, LifecycleStateKey, OwnerKey, RiskKey } from './search-attributes';
import { BOUNDARY_QUEUES_PATCH, unitQueue } from './boundary-queue';
import { boundaryTaskQueue } from '../domain/boundaries';

/**
 * Every activity does I/O and heartbeats (the worker's heartbeat interceptor): a worker killed
 * mid-activity is noticed within the heartbeat timeout and the activity retried elsewhere,
 * instead of after the whole start-to-close timeout.
 */
const ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', nonRetryableErrorTypes: ['InvalidInput'] },
};
const acts = proxyActivities<LifecycleActivities>(ACTIVITY_OPTIONS);

/**
 * The executors' activities (since the reconcile-executors patch): a `tofu apply` or a large PR
 * may take long, so the reconcile step gets an hour, heartbeating; a permanent failure is named
 * and never retried.
 */
const EXECUTOR_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2s', maximumInterval: '2 minutes', nonRetryableErrorTypes: ['InvalidInput'] },
};
const executorActs = proxyActivities<LifecycleActivities>(EXECUTOR_OPTIONS);

/**
 * The recording steps of a lean lifecycle (detected, classified, routed, the auto-heal approval,
 * closed) as local activities: they run back to back inside one workflow task on the control
 * worker, one marker each in history, instead of a task round trip each. A person's approval,
 * escalations, PR records and everything that touches the unit's systems stay activities.
 */
const LOCAL_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', nonRetryableErrorTypes: ['InvalidInput'] },
};
const localActs = proxyLocalActivities<LifecycleActivities>(LOCAL_OPTIONS);

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

/**
 * Patch id: every action has a real executor (PRs to Git, state actions, incidents, Kubernetes),
 * a lifecycle whose action is a PR waits for its merge (webhook, `prs merge` or its own poll),
 * goes back to approve when the PR is closed unmerged, and escalates a PR left open; IGNORE is
 * a governed exception PR; a permanent executor error closes the lifecycle FAILED.
 */
export const RECONCILE_EXECUTORS_PATCH = 'reconcile-executors-pr-wait';

/**
 * Patch id (issue 13 §3): the lean lifecycle. One patch stands for every earlier one (bounded state,
 * signed answers, the signal budget, executors, boundary queues), so a new run writes one marker
 * instead of five; the recording steps run as local activities; search attributes are upserted
 * once per wait instead of once per stage; the unit's boundary comes with the route instead of its
 * own lookup. Histories from before replay on the branches they took.
 */
export const LEAN_LIFECYCLE_PATCH = 'lean-lifecycle';

/** The cause of a permanent (non-retryable) activity failure: its error type and message. */
function permanentFailure(err: unknown): { type: string; message: string } | undefined {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure) || !err.cause.nonRetryable) return undefined;
  return { type: err.cause.type ?? 'Error', message: err.cause.message };
}

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text);

/** The drift lifecycle workflow (a noun; never renamed once released). */
export async function driftLifecycle(input: LifecycleInput): Promise<LifecycleState> {
  const carried: CarriedLifecycle | undefined = input.carried;
  // Asked first: a lean run implies every patch below and asks none of them (one marker, not five).
  const lean = carried ? carried.lean === true : patched(LEAN_LIFECYCLE_PATCH);
  // Histories recorded before this patch replay on the old branches; new runs take the new ones.
  const bounded = lean || carried !== undefined || patched(BOUNDED_LIFECYCLE_PATCH);
  // A continued run keeps the rules its lifecycle started with.
  const signedAnswers = carried ? carried.signedAnswers === true : lean || patched(SIGNED_ANSWERS_PATCH);
  // The recording steps: local activities in a lean run.
  const rec = lean ? localActs : acts;
  const s: LifecycleState = carried
    ? { ...carried.state, observation: input.observation }
    : { findingId: input.findingId, stage: 'detect', observation: input.observation, escalations: 0, detections: 0, timeline: [] };
  if (carried) s.runs = carried.runs;
  // Evidence keys use the first run's id, so a continued run never writes a step twice.
  const ids = { findingId: s.findingId, runId: carried?.caseRunId ?? workflowInfo().runId };
  let approvalDeadline = carried?.approvalDeadline;
  const signalBudget = bounded && (lean || patched(SIGNAL_BUDGET_PATCH));
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
  // Runs that began before the executors existed keep recording "no executor" and never wait for a PR.
  const executors = carried ? carried.executors === true : lean || (bounded && patched(RECONCILE_EXECUTORS_PATCH));
  let prDeadline = carried?.prDeadline;
  let prClosed: PullRequestClosed | undefined;
  /**
   * The activities that touch the unit's systems (reconcile, verify, the PR poll): on the unit's
   * credential-boundary queue since the boundary patch, asked once per run just before the first of
   * them (a lifecycle that never reconciles or verifies asks nothing); the control queue otherwise.
   * A lean run takes the boundary its route recorded, and asks only when routing did not look.
   */
  let unitActivities: Promise<{ acts: typeof acts; executorActs: typeof executorActs }> | undefined;
  const onUnit = () =>
    (unitActivities ??= (async () => {
      if (!lean && !patched(BOUNDARY_QUEUES_PATCH)) return { acts, executorActs };
      const routed = s.route?.boundary;
      const queue =
        lean && routed !== undefined
          ? routed === null
            ? undefined
            : { boundary: routed, taskQueue: boundaryTaskQueue(workflowInfo().taskQueue, routed) }
          : await unitQueue(s.observation.unit);
      if (!queue) return { acts, executorActs };
      note('boundary', `${queue.boundary}: reconcile and verify run on ${queue.taskQueue}`);
      return {
        acts: proxyActivities<LifecycleActivities>({ ...ACTIVITY_OPTIONS, taskQueue: queue.taskQueue }),
        executorActs: proxyActivities<LifecycleActivities>({ ...EXECUTOR_OPTIONS, taskQueue: queue.taskQueue }),
      };
    })());

  const note = (event: string, detail?: string) => {
    const entry: TimelineEntry = { at: new Date().toISOString(), stage: s.stage, event, ...(detail ? { detail: cut(detail, DETAIL_CHARS) } : {}) };
    s.timeline.push(entry);
    if (s.timeline.length > TIMELINE_HEAD + TIMELINE_TAIL) {
      s.timeline.splice(TIMELINE_HEAD, 1);
      s.timelineDropped = (s.timelineDropped ?? 0) + 1;
    }
  };
  /**
   * Search attributes: upserted at once in older runs; a lean run keeps them until it next waits
   * (an activity, a timer, a person, the end), since only then can anyone see them, and upserts
   * them in one command.
   */
  let pendingAttributes: SearchAttributeUpdatePair[] = [];
  const setAttributes = (pairs: SearchAttributeUpdatePair[]) => {
    if (!lean) return upsertSearchAttributes(pairs);
    pendingAttributes = [...pendingAttributes.filter((p) => !pairs.some((q) => q.key.name === p.key.name)), ...pairs];
  };
  /** Before every wait: the attributes a lean run kept (a no-op in older runs, which keep none). */
  const flush = () => {
    if (pendingAttributes.length === 0) return;
    upsertSearchAttributes(pendingAttributes);
    pendingAttributes = [];
  };
  const enter = (stage: Stage) => {
    s.stage = stage;
    note('entered');
    setAttributes([{ key: LifecycleStateKey, value: stage }]);
  };
  const ignoreSignal = (reason: string) => {
    const summary = (s.ignoredSignals ??= { count: 0, byReason: {} });
    summary.count++;
    summary.byReason[reason] = (summary.byReason[reason] ?? 0) + 1;
    summary.lastAt = new Date().toISOString();
  };

  // ---- messages -------------------------------------------------------------------------------
  setHandler(state, () => s);
  setHandler(pullRequestClosed, (raw) => {
    signalsThisRun++;
    if (!executors) return ignoreSignal('pullRequestClosed: not waiting for a PR');
    if (messageSizeExceeds(raw, 4096)) return ignoreSignal('pullRequestClosed: too large');
    const ok =
      raw &&
      typeof raw === 'object' &&
      Number.isInteger(raw.number) &&
      typeof raw.merged === 'boolean' &&
      typeof raw.at === 'string' &&
      ['github-webhook', 'prs-merge', 'prs-close', 'poll'].includes(raw.via);
    if (!ok) return ignoreSignal('pullRequestClosed: invalid');
    if (s.pr?.state !== 'open' || raw.number !== s.pr.number || (raw.repo !== undefined && raw.repo !== s.pr.repo)) return ignoreSignal('pullRequestClosed: not the open PR');
    prClosed = { number: raw.number, merged: raw.merged, at: raw.at, via: raw.via, ...(typeof raw.by === 'string' ? { by: raw.by.slice(0, 200) } : {}), ...(typeof raw.mergeCommit === 'string' ? { mergeCommit: raw.mergeCommit.slice(0, 80) } : {}) };
  });
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
    flush();
    await condition(allHandlersFinished);
    const { observation: _observation, ...rest } = s;
    const next: CarriedLifecycle = {
      caseRunId: ids.runId,
      runs: (s.runs ?? 0) + 1,
      state: { ...rest, runs: (s.runs ?? 0) + 1 },
      ...(approvalDeadline !== undefined ? { approvalDeadline } : {}),
      nextVerifyAttempt,
      ...(signedAnswers ? { signedAnswers } : {}),
      ...(executors ? { executors } : {}),
      ...(prDeadline !== undefined ? { prDeadline } : {}),
      ...(lean ? { lean } : {}),
    };
    await continueAsNew<typeof driftLifecycle>({
      findingId: input.findingId,
      observation: input.observation,
      carried: next,
      ...(input.trust ? { trust: input.trust } : {}),
      ...(input.previous ? { previous: input.previous } : {}),
    });
  };

  if (!carried) {
    // ---- detect -------------------------------------------------------------------------------
    note('entered');
    if (input.previous) {
      // A regression: the same drift came back soon after a reconciled close (classification raises its risk).
      s.previous = input.previous;
      note('reopened', `regression of run ${input.previous.runId}, closed ${input.previous.outcome} at ${input.previous.closedAt}`);
    }
    s.evidenceUri = (await rec.recordDetection({ ...ids, observation: s.observation })).evidenceUri;
  } else {
    note('continued', `run ${carried.runs + 1} of this lifecycle (the history grew long)`);
  }

  // ---- classify -------------------------------------------------------------------------------
  if (!s.decision) {
    await carryOnIfSuggested();
    enter('classify');
    const decision = await rec.classifyFinding({ ...ids, observation: s.observation });
    s.decision = decision;
    setAttributes([
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
    s.route = await rec.routeFinding({ ...ids, observation: s.observation, decision });
    if (s.route.actor) {
      const a = s.route.actor;
      note('actor', a.person ? `${a.id} is ${a.person} (matched ${a.matched})` : `${a.id} (${a.type}) could not be resolved: ${a.unresolved}`);
    }
    for (const why of s.route.approvalNotes ?? []) note('approvals required', why);
    if (s.route.incident) {
      s.incident = s.route.incident;
      note('incident opened', `${s.route.incident.incidentId} (${s.route.incident.adapter})`);
    }
  }
  const route = s.route;

  // ---- approve --------------------------------------------------------------------------------
  const needsReconcile = needsReconciliation(decision, executors);
  /** Waits for people: a quorum of approvals, a rejection, or expiry after every escalation. */
  const askPeople = async (): Promise<void> => {
    if (bounded && required() > 1 && !carried) note('awaiting approvals', `${required()} distinct approvers must approve`);
    while (s.answer === undefined) {
      let answered: boolean;
      if (bounded) {
        approvalDeadline ??= Date.now() + msToNumber(route.approvalTimeout as Duration);
        flush();
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
      flush();
      await acts.escalate({ ...ids, level: s.escalations, observation: s.observation, decision, route });
      note('escalated', `level ${s.escalations}`);
    }
    approvalDeadline = undefined;
    if (s.answer) {
      const round = (s.closedPrs?.length ?? 0) + 1;
      flush();
      await acts.recordApproval({
        ...ids,
        ...(round > 1 ? { attempt: round } : {}),
        approval: { kind: 'person', answer: s.answer, decision, ...(bounded && s.approvals?.length ? { approvals: s.approvals, required: required() } : {}) },
      });
    }
    if (s.answer?.answer === 'rejected') s.outcome = 'REJECTED';
  };
  if (s.stage === 'route' || (s.stage === 'approve' && s.answer === undefined && s.outcome === undefined)) {
    if (s.stage === 'route') enter('approve');
    if (!needsReconcile) {
      note('no approval needed', `action ${decision.recommendedAction}`);
    } else if (decision.autoHealAllowed) {
      await rec.recordApproval({ ...ids, approval: { kind: 'auto-heal', decision } });
      note('auto-approved', 'auto-heal allowed by policy');
    } else {
      await askPeople();
    }
    if (s.outcome === undefined && !needsReconcile) s.outcome = 'NO_ACTION';
  }

  // ---- reconcile and verify -------------------------------------------------------------------
  /** Verifies closure by detecting again, at the route's interval, until clean or out of attempts. */
  const verify = async (): Promise<void> => {
    for (let attempt = nextVerifyAttempt; attempt <= route.verifyAttempts; attempt++) {
      flush();
      const check = await (await onUnit()).acts.verifyClosure({ ...ids, observation: s.observation, attempt, ...(executors ? { action: decision.recommendedAction } : {}) });
      note(check.clean ? 'verified' : 'still drifted', check.detail);
      if (check.clean) {
        s.outcome = 'RECONCILED';
        break;
      }
      nextVerifyAttempt = attempt + 1;
      if (attempt < route.verifyAttempts) {
        flush();
        await sleep(route.verifyInterval);
        await carryOnIfSuggested();
      }
    }
    s.outcome ??= 'UNVERIFIED';
  };

  /**
   * Waits for the open PR to be merged or closed: the GitHub webhook or `driftplane prs merge`
   * signals it; a durable poll at the policy interval covers lost webhooks; a PR left open past
   * the policy timeout escalates like an unanswered approval.
   */
  const awaitPullRequest = async (): Promise<'merged' | 'closed' | 'expired'> => {
    const pr = s.pr!;
    const timeout = route.prTimeout ?? '72h';
    const every = route.prPollInterval ?? '15m';
    for (;;) {
      prDeadline ??= Date.now() + msToNumber(timeout as Duration);
      const wait = Math.max(1, Math.min(prDeadline - Date.now(), msToNumber(every as Duration)));
      flush();
      await condition(() => prClosed !== undefined || historyTooLong(), wait);
      let closed = prClosed;
      prClosed = undefined;
      if (!closed && historyTooLong()) {
        await carryOnIfSuggested();
        continue;
      }
      if (!closed) {
        if (Date.now() >= prDeadline) {
          if (s.escalations >= route.maxEscalations) {
            note('expired', `${pr.url} still open after ${s.escalations} escalation(s)`);
            return 'expired';
          }
          s.escalations++;
          prDeadline = undefined;
          await acts.escalate({ ...ids, level: s.escalations, observation: s.observation, decision, route, waitingFor: `review of ${pr.url}` });
          note('escalated', `level ${s.escalations}: ${pr.url} is still open`);
          continue;
        }
        const now = await (await onUnit()).acts.checkPullRequest({ ...ids, pr });
        if (now.state === 'open') continue;
        closed = { number: pr.number, merged: now.state === 'merged', at: now.at ?? new Date().toISOString(), via: 'poll', ...(now.by ? { by: now.by } : {}), ...(now.mergeCommit ? { mergeCommit: now.mergeCommit } : {}) };
      }
      pr.state = closed.merged ? 'merged' : 'closed';
      pr.closedAt = closed.at;
      pr.via = closed.via;
      if (closed.by) pr.by = closed.by;
      prDeadline = undefined;
      await acts.recordPullRequest({ ...ids, pr, event: closed });
      note(closed.merged ? 'pr merged' : 'pr closed', `${pr.url}${closed.by ? ` by ${closed.by}` : ''} (${closed.via})`);
      return closed.merged ? 'merged' : 'closed';
    }
  };

  if (s.outcome === undefined && !executors) {
    if (s.stage === 'approve') {
      await carryOnIfSuggested();
      enter('reconcile');
      const unit = await onUnit();
      flush();
      const result = await unit.acts.reconcile({ ...ids, observation: s.observation, decision, approvedBy: s.answer?.approver ?? 'policy:auto-heal' });
      note(result.executed ? 'reconciled' : 'recorded', result.detail);
      enter('verify');
    }
    await verify();
  } else if (s.outcome === undefined) {
    while (s.outcome === undefined) {
      if (s.stage === 'approve') {
        await carryOnIfSuggested();
        enter('reconcile');
        const attempt = (s.closedPrs?.length ?? 0) + 1;
        let result: Awaited<ReturnType<typeof executorActs.reconcile>>;
        const unit = await onUnit();
        flush();
        try {
          result = await unit.executorActs.reconcile({
            ...ids,
            observation: s.observation,
            decision,
            approvedBy: s.answer?.approver ?? 'policy:auto-heal',
            attempt,
            ...(s.approvals?.length ? { approvers: s.approvals.map((a) => a.approver) } : {}),
            ...(s.answer ? { reason: s.answer.reason } : {}),
            ...(s.incident ? { incident: s.incident } : {}),
          });
        } catch (err) {
          const failed = permanentFailure(err);
          if (!failed) throw err;
          note('reconcile failed', `${failed.type}: ${failed.message}`);
          s.outcome = 'FAILED';
          break;
        }
        note(result.executed ? 'reconciled' : 'recorded', result.detail);
        if (result.incident) s.incident = result.incident;
        if (result.pr) {
          s.pr = { ...result.pr, state: 'open', openedAt: new Date().toISOString() };
          note('pr opened', `${result.pr.url} (${result.pr.branch})`);
        } else {
          enter('verify');
        }
      }
      if (s.stage === 'reconcile' && s.pr?.state === 'open') {
        const closed = await awaitPullRequest();
        if (closed === 'expired') {
          s.outcome = 'EXPIRED';
          break;
        }
        if (closed === 'closed') {
          // Not merged: the decision goes back to people, with the PR's state in the timeline.
          (s.closedPrs ??= []).push(s.pr);
          s.answer = undefined;
          s.approvals = [];
          enter('approve');
          await askPeople();
          continue;
        }
        enter('verify');
      }
      // After a merge the GitOps or IaC apply lands on its own: verification detects again at the route's interval.
      await verify();
    }
  }

  // ---- closed ---------------------------------------------------------------------------------
  enter('closed');
  // Every path above sets the outcome; a verification that never ran is not a reconciliation.
  const outcome: Outcome = (s.outcome ??= 'UNVERIFIED');
  await rec.closeFinding({ ...ids, outcome, escalations: s.escalations, detections: s.detections });
  note('closed', outcome);
  flush();
  await condition(allHandlersFinished);
  return s;
}
