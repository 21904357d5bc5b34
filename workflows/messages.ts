/**
 * Every signal, update and query of driftplane's workflows. Shared by the workflows, the worker,
 * the CLI and the dashboard. Constants equal their wire names; handlers the Temporal UI may call
 * take exactly one object argument.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApprovalInput, ApproverIdentity, LifecycleDecision, Outcome, Stage } from '../domain/lifecycle';
import type { DriftObservation } from '../domain/finding';
import type { SignedStatement, StatementTrust } from '../domain/signing/statement';

/** Input of one drift lifecycle. */
export interface LifecycleInput {
  findingId: string;
  observation: DriftObservation;
  /** Set only when a lifecycle continued as new: where it was, carried into the new run. */
  carried?: CarriedLifecycle;
  /** Server keys whose signed statements (Slack, dashboard) this lifecycle trusts (docs/identity.md). */
  trust?: StatementTrust;
  /**
   * Set when this run reopens a finding that closed RECONCILED within the unit's reopen window
   * (a regression): the previous run, linked in the timeline and `driftplane show`.
   */
  previous?: PreviousRun;
}

/** The earlier run of the same finding that a regression reopens. */
export interface PreviousRun {
  workflowId: string;
  runId: string;
  outcome: string;
  closedAt: string;
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
  /** The lifecycle requires proven identity (it started with signed answers): continued runs keep its rules. */
  signedAnswers?: boolean;
  /** The lifecycle runs real executors and waits for PR merges (reconcile-executors patch): continued runs keep it. */
  executors?: boolean;
  /** When the open reconciliation PR escalates (epoch ms). */
  prDeadline?: number;
  /** The lifecycle started lean (recording steps as local activities, batched search attributes): continued runs keep it. */
  lean?: boolean;
}

/** A reconciliation PR the lifecycle opened, and where it stands. */
export interface PullRequestState {
  provider: 'github' | 'local-git';
  repo: string;
  number: number;
  url: string;
  branch: string;
  commit: string;
  state: 'open' | 'merged' | 'closed';
  openedAt: string;
  closedAt?: string;
  by?: string;
  via?: PullRequestClosed['via'];
  /** Local Git: the PR's record (and its body beside it). */
  recordPath?: string;
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
  /**
   * Answers without a signed statement (a raw Temporal UI Update or signal) count: the unit's
   * `policies.allowUnauthenticatedApprovals`, by default true except for production units.
   */
  allowUnauthenticated?: boolean;
  /** A reconciliation PR left open this long escalates (the unit's `policies.reconcile.prTimeout`; absent: 72h). */
  prTimeout?: string;
  /** How often the lifecycle asks an open PR's state itself (absent: 15m). */
  prPollInterval?: string;
  /** Where the route opens incidents (absent: the console). */
  incidentTarget?: { type: 'pagerduty'; routingKeyEnv?: string } | { type: 'github-issue'; repo: string; labels?: string[] } | { type: 'console' };
  /** The incident opened at routing (route `createIncident` or an INCIDENT action), through the route's adapter. */
  incident?: { adapter: string; incidentId: string; url?: string };
  /**
   * The unit's credential boundary, read from the registry at routing (lean lifecycles): its
   * reconcile, verify and PR-poll activities run on `<task queue>.<boundary>`; null: the registry
   * declares none (the control queue). Absent: routing did not look (the lifecycle asks itself).
   */
  boundary?: string | null;
}

/** An approval or rejection that the lifecycle accepted. */
export interface AnswerRecord {
  answer: 'approved' | 'rejected';
  approver: string;
  reason: string;
  via: string;
  at: string;
  /** Whether the channel proved who answered (absent: the lifecycle predates signed answers). */
  authenticated?: boolean;
  /** The signed statement that proved it; evidence keeps it so an auditor can verify it (`driftplane evidence verify`). */
  statement?: SignedStatement;
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
  /** The reconciliation PR being waited on (or the last one). */
  pr?: PullRequestState;
  /** Earlier PRs of this lifecycle that were closed without merge. */
  closedPrs?: PullRequestState[];
  /** The incident opened for this finding (PagerDuty, a GitHub issue, the console). */
  incident?: { adapter: string; incidentId: string; url?: string };
  /** The earlier run this one reopens (a regression), when it does. */
  previous?: PreviousRun;
}

/** What an accepted approve/reject Update returns. */
export interface AnswerAccepted {
  findingId: string;
  answer: 'approved' | 'rejected';
  approver: string;
  /** For an approval: how many distinct approvals are counted now, and how many are needed. */
  approvals?: number;
  required?: number;
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
/** A reconciliation PR was closed, merged or not: from the GitHub webhook (`driftplane serve`), `driftplane prs merge`, or the lifecycle's own poll. */
export interface PullRequestClosed {
  /** The PR's number in its repository. */
  number: number;
  merged: boolean;
  /** `owner/name` (GitHub) or the local repository's folder. */
  repo?: string;
  url?: string;
  /** Who merged or closed it (GitHub login or the local `--as`). */
  by?: string;
  /** When it was closed (ISO 8601). */
  at: string;
  mergeCommit?: string;
  via: 'github-webhook' | 'prs-merge' | 'prs-close' | 'poll';
}
/** A reconciliation PR of this finding was closed (merged or not). */
export const pullRequestClosed = defineSignal<[PullRequestClosed]>('pullRequestClosed');
/** The lifecycle's stage, finding, decision, approvals and timeline. */
export const state = defineQuery<LifecycleState>('state');

// ---- hotfix windows (issue 9, part 6) ------------------------------------------------------------
// The window's messages; their inputs and schemas live in domain/hotfix.ts.
import type { AttachFindingInput, CloseWindowInput, ExtendWindowInput, HotfixResolution, ResolveFindingInput } from '../domain/hotfix';

/** One finding attached to a window, and how it returns to a governed state. */
export interface HotfixFinding extends AttachFindingInput {
  attachedAt: string;
  resolution?: { resolution: HotfixResolution; reference?: string; by: string; reason: string; at: string };
}

/** What the `windowState` query returns (and the workflow's result). */
export interface HotfixWindowState {
  windowId: string;
  unit: string;
  incident: string;
  /** open: the declared actors' drift is EMERGENCY_DRIFT; escalated: expired with unreconciled findings; closed. */
  status: 'open' | 'escalated' | 'closed';
  openedAt: string;
  openedBy: string;
  reason: string;
  actors: string[];
  /** The persons behind the declared actors, where the registry knows them. */
  actorPersons: string[];
  owner?: string;
  /** Listed approvers of the unit (e-mails): who may extend or accept. */
  approvers: string[];
  /** Where reminders and the escalation go: the owning team and the incident channel. */
  notify: string[];
  window: string;
  /** When the window closes (expires) unless extended. */
  deadline: string;
  maxExtensions: number;
  extensions: { by: string; reason: string; duration: string; at: string; deadline: string }[];
  reminders: { percent: number; at: string }[];
  findings: HotfixFinding[];
  escalation?: { at: string; unresolved: string[] };
  closed?: { by: string; reason: string; at: string; outcome: 'reconciled' | 'closed' };
  timeline: { at: string; event: string; detail?: string }[];
}

/** The window's state. */
export const windowState = defineQuery<HotfixWindowState>('windowState');
/** A finding by the declared actor was classified EMERGENCY_DRIFT while the window was open. */
export const attachFinding = defineSignal<[AttachFindingInput]>('attachFinding');
/** A reconciliation path (back-port PR, state action) or an explicit acceptance for an attached finding. */
export const resolveFinding = defineUpdate<HotfixWindowState, [ResolveFindingInput]>('resolveFinding');
/** Extends the window: a listed approver who is not a declared actor; at most the policy's number of times. */
export const extendWindow = defineUpdate<HotfixWindowState, [ExtendWindowInput]>('extendWindow');
/** Closes the window: who and why. Refused while an attached finding has no reconciliation path. */
export const closeWindow = defineUpdate<HotfixWindowState, [CloseWindowInput]>('closeWindow');

// ---- Slack messages of a finding (issue 9, part 2) ----------------------------------------------
import type { Notification as SlackThreadNotification } from '../activities/notify/console-notifier';

/** What the `slackThreadState` query returns: the posted messages (channel id, ts) and what they show. */
export interface SlackThreadState {
  findingId: string;
  messages: { channel: string; ts: string }[];
  status: string[];
  /** The buttons are offered. */
  open: boolean;
  /** The last Slack calls that failed after every retry. */
  failures: string[];
}

/** The id of a finding's `slackThread` workflow: `slack:<findingId>`. */
export const slackThreadIdOf = (findingId: string): string => `slack:${findingId}`;

/** A lifecycle notification for the finding's Slack message (signal-with-start of `slackThread`). */
export const slackNotification = defineSignal<[SlackThreadNotification]>('slackNotification');
/** The Slack messages of a finding and what they show. */
export const slackThreadState = defineQuery<SlackThreadState>('slackThreadState');
