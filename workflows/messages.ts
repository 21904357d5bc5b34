/**
 * Every signal, update and query of driftplane's workflows. Shared by the workflows, the worker,
 * the CLI and the dashboard. Constants equal their wire names; handlers the Temporal UI may call
 * take exactly one object argument.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApprovalInput, ApproverIdentity, LifecycleDecision, Outcome, Stage } from '../domain/lifecycle';
import type { DriftObservation } from '../domain/finding';

/** Input of one drift lifecycle. */
export interface LifecycleInput {
  findingId: string;
  observation: DriftObservation;
  /** Set only when a lifecycle continued as new: where it was, carried into the new run. */
  carried?: CarriedLifecycle;
}

/**
 * What a lifecycle carries when it continues as new (its history grew too long, e.g. after
 * thousands of detections or signals): its state, bounded, and its clocks as instants.
 */
export interface CarriedLifecycle {
  /** The first run's id: evidence keys stay the same across continued runs, so no step repeats. */
  caseRunId: string;
  /** How many runs came before this one. */
  runs: number;
  state: Omit<LifecycleState, 'observation'>;
  /** When the current approval wait escalates (epoch ms). */
  approvalDeadline?: number;
  /** The verification attempt to run next. */
  nextVerifyAttempt?: number;
}

/** The drift's actor, resolved to a person of the registry when it could be. */
export interface ResolvedActor {
  id: string;
  type: string;
  /** The person's e-mail (normalized) when the registry knows the name. */
  person?: string;
  /** Which of the person's names matched. */
  matched?: string;
  /** Why the actor could not be resolved. */
  unresolved?: string;
}

/** Where the lifecycle routed the finding, and how long approvers have. */
export interface LifecycleRoute {
  approvers: ApproverIdentity[];
  notify: string[];
  createIncident: boolean;
  routeName?: string;
  /** A Temporal duration string, e.g. '72h'. */
  approvalTimeout: string;
  maxEscalations: number;
  /** How often, and how many times, closure is re-checked before the lifecycle gives up. */
  verifyInterval: string;
  verifyAttempts: number;
  /** Distinct approvals a reconciliation needs (absent: 1). */
  requiredApprovals?: number;
  /** Why more approvals than usual are needed, for the timeline and evidence. */
  approvalNotes?: string[];
  /** The drift's actor, resolved against the registry's people before anyone may approve. */
  actor?: ResolvedActor;
  /** UTF-8 bytes a reason may take (absent: 2048). */
  maxReasonBytes?: number;
}

/** An approval or rejection that the lifecycle accepted. */
export interface AnswerRecord {
  answer: 'approved' | 'rejected';
  approver: string;
  reason: string;
  via: string;
  at: string;
}

/** The timeline keeps this many first entries and this many last ones; the middle is counted (`timelineDropped`). */
export const TIMELINE_HEAD = 20;
export const TIMELINE_TAIL = 100;

/** One line of the lifecycle's timeline. */
export interface TimelineEntry {
  at: string;
  stage: Stage;
  event: string;
  detail?: string;
}

/** What the `state` query returns. */
export interface LifecycleState {
  findingId: string;
  stage: Stage;
  outcome?: Outcome;
  observation: DriftObservation;
  decision?: LifecycleDecision;
  route?: LifecycleRoute;
  /** The decisive answer: the approval that completed the quorum, or a rejection. */
  answer?: AnswerRecord;
  /** Approvals counted so far (distinct people), when more than one is needed. */
  approvals?: AnswerRecord[];
  /** Signals that were refused: counted by reason, their bodies never kept. */
  ignoredSignals?: { count: number; byReason: Record<string, number>; lastAt?: string };
  /** Timeline entries dropped from the middle to keep the state small (the first and last are kept). */
  timelineDropped?: number;
  /** Runs this lifecycle continued through (0 or absent: still its first). */
  runs?: number;
  escalations: number;
  detections: number;
  evidenceUri?: string;
  timeline: TimelineEntry[];
}

/** What an accepted approve/reject Update returns. */
export interface AnswerAccepted {
  findingId: string;
  answer: 'approved' | 'rejected';
  approver: string;
}

/** Approve the proposed reconciliation. Validated: listed approver, not the drift's actor, reason given. */
export const approve = defineUpdate<AnswerAccepted, [ApprovalInput]>('approve');
/** Reject the proposed reconciliation. Same validation as approve. */
export const reject = defineUpdate<AnswerAccepted, [ApprovalInput]>('reject');
/** Approval as a plain signal (Temporal UI "Send Signal"). Invalid ones are recorded and ignored. */
export const approvalSignal = defineSignal<[ApprovalInput]>('approval');
/** Rejection as a plain signal. Invalid ones are recorded and ignored. */
export const rejectionSignal = defineSignal<[ApprovalInput]>('rejection');
/** The same drift was detected again: joins the running lifecycle. */
export const detected = defineSignal<[{ detectedAt: string; detector: string }]>('detected');
/** The lifecycle's stage, finding, decision, approvals and timeline. */
export const state = defineQuery<LifecycleState>('state');
