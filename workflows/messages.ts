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
}

/** An approval or rejection that the lifecycle accepted. */
export interface AnswerRecord {
  answer: 'approved' | 'rejected';
  approver: string;
  reason: string;
  via: string;
  at: string;
}

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
  answer?: AnswerRecord;
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
