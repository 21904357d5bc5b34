import { ApplicationFailure } from '@temporalio/common';
import { toFindingRecord, type DriftObservation } from '../../domain/finding';
import { keylessRedactor, type Redactor } from '../../domain/redaction';
import type { LifecycleDecision, Outcome } from '../../domain/lifecycle';
import type { AnswerRecord, LifecycleRoute } from '../../workflows/messages';
import type { EvidenceStore } from '../../evidence/evidence-store';
import type { LocalPlanes } from '../local-planes/local-planes';
import type { Notifier } from '../notify/console-notifier';
import { notificationDetails } from '../notify/notification-details';
import type { DetectionStatusRepo } from '../../ledger/detection';
import { localPlanesDetector, type UnitDetector } from '../scan/detectors';
import { UnknownUnitError, type PolicySource } from './registry-policy';
import type { HotfixLookup } from '../hotfix/window-lookup';
import type { ReconcileExecutors, ReconcileRequest } from '../reconcile/executors';
import type { PrProvider, PrStatus } from '../reconcile/pr-provider';
import type { PullRequestClosed, PullRequestState } from '../../workflows/messages';

/** Opens an incident through the route's adapter (activities/incident): idempotent by finding id. */
export type IncidentOpener = (input: {
  target: LifecycleRoute['incidentTarget'];
  findingId: string;
  title: string;
  summary: string;
  severity: 'critical' | 'error' | 'warning' | 'info';
  source: string;
  component?: string;
  group?: string;
  customDetails?: Record<string, unknown>;
}) => Promise<{ adapter: string; incidentId: string; url?: string; created: boolean }>;

/** What the lifecycle activities need from the outside world. */
export interface LifecycleDeps {
  evidence: EvidenceStore;
  planes: LocalPlanes;
  /** Detects (for verification) and reverts per unit. Default: the local planes only. */
  detector?: UnitDetector;
  /** Records verification detections too: a successful one is a unit's last success. */
  status?: DetectionStatusRepo;
  policy: PolicySource;
  notifier: Notifier;
  /** How long approvers have before an escalation, how many escalations before the lifecycle expires. */
  approvalTimeout: string;
  maxEscalations: number;
  verifyInterval: string;
  verifyAttempts: number;
  /** UTF-8 bytes an approval's reason may take (default 2048). */
  maxReasonBytes?: number;
  clock?: () => Date;
  /** Redacts the observation once more before it is written as evidence (default: `[REDACTED]`, no fingerprints). */
  redactor?: Redactor;
  /** Attaches EMERGENCY_DRIFT to the open hotfix window it happened in (activities/hotfix/window-lookup.ts). */
  hotfix?: Pick<HotfixLookup, 'attach'>;
  /** The reconcile executors (activities/reconcile): lifecycles since the reconcile-executors patch use them. */
  executors?: ReconcileExecutors;
  /** PR providers by name, for the lifecycle's poll of an open PR. */
  prProviders?: Partial<Record<PullRequestState['provider'], PrProvider>>;
  /** Opens incidents (route `createIncident`, INCIDENT actions). Unset: the notifier's incident message only. */
  incidents?: IncidentOpener;
  /** Default PR timeout and poll interval when the unit's policy sets none. */
  prTimeout?: string;
  prPollInterval?: string;
  /**
   * The unit's credential boundary from the registry (activities/boundaries), recorded with the
   * route so a lean lifecycle sends reconcile and verify to its queue without a lookup of its own.
   * Unset: routes carry no boundary and the lifecycle asks.
   */
  boundaryOf?: (unit: string) => Promise<string | undefined>;
}

const SEVERITY: Record<string, 'critical' | 'error' | 'warning' | 'info'> = { CRITICAL: 'critical', HIGH: 'error', MEDIUM: 'warning', LOW: 'info', INFO: 'info' };

interface Ids {
  findingId: string;
  runId: string;
}

/** An incident is raised when the route asks for one or the decided action is an incident. */
const raisesIncident = (route: { createIncident: boolean }, decision: LifecycleDecision) =>
  route.createIncident || decision.recommendedAction.startsWith('INCIDENT');

/** Actions whose runtime part is a revert of the actual plane to the desired one. */
const REVERTING_ACTIONS = ['RUNTIME_REVERT', 'INCIDENT_AND_REVERT'];

/**
 * The activities of one drift lifecycle. Each stage does its side effect and appends its evidence
 * record; both are idempotent by (finding, run, step), so a retry after a crash repeats nothing.
 */
export function createLifecycleActivities(deps: LifecycleDeps) {
  const now = () => (deps.clock ? deps.clock() : new Date());
  const record = (ids: Ids, step: string, data: unknown) =>
    deps.evidence.append({ findingId: ids.findingId, runId: ids.runId, key: `${ids.runId}:${step}`, step, at: now().toISOString(), data });
  const evidenceUri = (findingId: string) => deps.evidence.locationOf(findingId);
  const detector = deps.detector ?? localPlanesDetector(deps.planes);

  return {
    /** Records what was detected: the raw, redacted diff and its audit correlation. */
    async recordDetection(input: Ids & { observation: DriftObservation }): Promise<{ evidenceUri: string }> {
      // Detectors redact at their boundary; evidence is written to last, so it is redacted again
      // (a no-op on values already redacted) in case an observation came from elsewhere.
      await record(input, 'detected', { observation: (deps.redactor ?? keylessRedactor).observation(input.observation) });
      return { evidenceUri: evidenceUri(input.findingId) };
    },

    /** Classifies the finding with the decision table and the registry's policies, recording the rules that fired. */
    async classifyFinding(input: Ids & { observation: DriftObservation }): Promise<LifecycleDecision> {
      const decision = await deps.policy.classify(input.observation, now()).catch((err: Error) => {
        // A unit outside the registry has no reconciliation contract: permanent. Anything else
        // (an invalid registry being fixed, a file being replaced) is retried.
        throw err instanceof UnknownUnitError ? ApplicationFailure.nonRetryable(err.message, 'InvalidInput') : err;
      });
      await record(input, 'classified', { decision });
      // Emergency drift inside a hotfix window is attached to the window, which holds it to a reconciliation path (§13.2).
      const attached = await deps.hotfix?.attach(input.findingId, input.observation, decision);
      if (attached) await record(input, 'hotfix-attached', attached);
      return decision;
    },

    /** Routes the finding: who may approve, who is told, and the approval clock. */
    async routeFinding(input: Ids & { observation: DriftObservation; decision: LifecycleDecision }): Promise<LifecycleRoute> {
      const routing = await deps.policy.route(input.observation, input.decision);
      const { incidentTarget, ...routed } = routing;
      const route: LifecycleRoute = {
        ...routed,
        ...(incidentTarget ? { incidentTarget } : {}),
        ...(routing.prTimeout ?? deps.prTimeout ? { prTimeout: routing.prTimeout ?? deps.prTimeout } : {}),
        ...(routing.prPollInterval ?? deps.prPollInterval ? { prPollInterval: routing.prPollInterval ?? deps.prPollInterval } : {}),
        approvalTimeout: deps.approvalTimeout,
        maxEscalations: deps.maxEscalations,
        verifyInterval: deps.verifyInterval,
        verifyAttempts: deps.verifyAttempts,
        maxReasonBytes: deps.maxReasonBytes ?? 2048,
        ...(deps.boundaryOf ? { boundary: (await deps.boundaryOf(input.observation.unit)) ?? null } : {}),
      };
      const incident = raisesIncident(route, input.decision);
      await record(input, 'routed', { route, incident });
      const needsPerson = !input.decision.autoHealAllowed && !['NONE', 'IGNORE'].includes(input.decision.recommendedAction);
      await deps.notifier.send({
        kind: needsPerson ? 'approval-requested' : 'routed',
        findingId: input.findingId,
        targets: route.notify,
        text:
          `${input.decision.driftClass} (${input.decision.risk}) on ${input.observation.resourceRef}: ${input.decision.recommendedAction}` +
          (needsPerson ? `; approvers: ${route.approvers.map((a) => a.email).join(', ') || 'none listed'}` : ''),
        details: notificationDetails(input.observation, input.decision, route, needsPerson),
      });
      if (incident && deps.incidents) {
        // A real incident record, once (dedup key = finding id), before anyone answers (§24.2).
        const opened = await deps.incidents({
          target: incidentTarget,
          findingId: input.findingId,
          title: `${input.decision.driftClass} (${input.decision.risk}) on ${input.observation.resourceRef}`,
          summary: `driftplane ${input.findingId}: ${input.decision.driftClass} (${input.decision.risk}) on ${input.observation.resourceRef} in ${input.observation.unit}; action ${input.decision.recommendedAction}`,
          severity: SEVERITY[input.decision.risk] ?? 'warning',
          source: input.observation.unit,
          component: input.observation.resourceRef,
          group: input.decision.owner,
          customDetails: { findingId: input.findingId, driftClass: input.decision.driftClass, risk: input.decision.risk, action: input.decision.recommendedAction, changedFields: input.observation.changedFields, evidence: evidenceUri(input.findingId) },
        });
        route.incident = { adapter: opened.adapter, incidentId: opened.incidentId, ...(opened.url ? { url: opened.url } : {}) };
        await record(input, 'incident-opened', { ...route.incident, created: opened.created });
      }
      if (incident) {
        // Raised once, here, before anyone answers: evidence of the detection is already written (§24.2).
        await deps.notifier.send({
          kind: 'incident',
          findingId: input.findingId,
          targets: [...new Set([...route.notify, `team:${input.decision.owner}`])],
          text: `incident opened for ${input.observation.resourceRef}: ${input.decision.driftClass} (${input.decision.risk})${route.incident ? `; ${route.incident.adapter} ${route.incident.incidentId}` : ''}`,
        });
      }
      return route;
    },

    /** Records an approval: a person's answer, or the policy that allowed auto-heal. */
    async recordApproval(
      input: Ids & {
        approval: { kind: 'person'; answer: AnswerRecord; decision: LifecycleDecision } | { kind: 'auto-heal'; decision: LifecycleDecision };
        /** 2 or more: people answered again after a PR was closed unmerged (its own evidence step). */
        attempt?: number;
      },
    ): Promise<void> {
      await record(input, (input.attempt ?? 1) > 1 ? `approval-${input.attempt}` : 'approval', input.approval);
      if (input.approval.kind === 'person') {
        const a = input.approval.answer;
        await deps.notifier.send({ kind: 'answered', findingId: input.findingId, targets: [], text: `${a.answer} by ${a.approver} via ${a.via}: ${a.reason}` });
      }
    },

    /** Escalates an unanswered approval one level and records it. */
    async escalate(input: Ids & { level: number; observation: DriftObservation; decision: LifecycleDecision; route: LifecycleRoute; waitingFor?: string }): Promise<void> {
      const after = input.waitingFor ? (input.route.prTimeout ?? '72h') : input.route.approvalTimeout;
      await record(input, `escalated-${input.level}`, { level: input.level, after, ...(input.waitingFor ? { waitingFor: input.waitingFor } : {}) });
      await deps.notifier.send({
        kind: 'escalated',
        findingId: input.findingId,
        targets: [...new Set([...input.route.notify, `team:${input.decision.owner}`])],
        text: input.waitingFor
          ? `${input.waitingFor} still pending after ${after}: escalation level ${input.level} for ${input.observation.resourceRef}`
          : `no answer within ${input.route.approvalTimeout}: escalation level ${input.level} for ${input.observation.resourceRef}`,
      });
    },

    /**
     * Carries out the approved action. Lifecycles since the reconcile-executors patch pass `attempt`
     * and get the real executor for every action (a PR the lifecycle then waits on, a state action, a
     * restart, an incident); permanent failures are named errors. Older lifecycles keep the first
     * executors: reverts only, once per run.
     */
    async reconcile(
      input: Omit<ReconcileRequest, 'evidenceUri'>,
    ): Promise<{ action: string; executed: boolean; detail: string; pr?: Omit<PullRequestState, 'state' | 'openedAt'>; incident?: { adapter: string; incidentId: string; url?: string } }> {
      const { observation: o, decision } = input;
      const action = decision.recommendedAction;
      const step = (input.attempt ?? 1) > 1 ? `reconciled-${input.attempt}` : 'reconciled';
      if (input.attempt !== undefined && o.detectorStatus === undefined) {
        if (!deps.executors) throw ApplicationFailure.nonRetryable(`this worker has no reconcile executors configured for ${action}`, 'NoExecutor');
        let done;
        try {
          done = await deps.executors.execute({ ...input, evidenceUri: evidenceUri(input.findingId) });
        } catch (err) {
          // A permanent refusal is evidence too: what was asked, and why it was refused.
          if (err instanceof ApplicationFailure && err.nonRetryable) await record(input, step, { action, executed: false, refused: { type: err.type, message: err.message }, approvedBy: input.approvedBy });
          throw err;
        }
        const pr = done.pr ? { provider: done.pr.provider, repo: done.pr.repo, number: done.pr.number, url: done.pr.url, branch: done.pr.branch, commit: done.pr.commit, ...(done.pr.recordPath ? { recordPath: done.pr.recordPath } : {}) } : undefined;
        await record(input, step, { action, executed: done.executed, detail: done.detail, approvedBy: input.approvedBy, ...(pr ? { pr: { ...pr, created: done.pr!.created } } : {}), ...(done.facts ? { facts: done.facts } : {}) });
        return { action, executed: done.executed, detail: done.detail, ...(pr ? { pr } : {}) };
      }
      const incident = action.startsWith('INCIDENT') ? 'incident open since routing; ' : '';
      let result: { action: string; executed: boolean; detail: string };
      if (o.detectorStatus !== undefined) {
        // Nothing can repair a detector from here: the incident is open, and verification detects again.
        result = { action, executed: false, detail: `detection of ${o.unit} is ${o.detectorStatus}${o.detectorError ? ` (${o.detectorError})` : ''}; ${incident}verification detects again` };
      } else {
        const done = REVERTING_ACTIONS.includes(action) ? await detector.revert(o, `${input.runId}:reconcile`, now()) : undefined;
        result = done
          ? { action, executed: done.executed, detail: `${incident}${done.detail}` }
          : action === 'INCIDENT'
            ? { action, executed: false, detail: 'incident open since routing; the owner carries out the response' }
            : // Lifecycles from before the executors: no executor for this action on this unit.
              { action, executed: false, detail: `no executor for ${action} on ${o.unit}; recorded for the owner to carry out` };
      }
      await record(input, step, { ...result, approvedBy: input.approvedBy });
      return result;
    },

    /** The durable poll behind the webhook: where the PR stands now. */
    async checkPullRequest(input: Ids & { pr: PullRequestState }): Promise<PrStatus> {
      const provider = deps.prProviders?.[input.pr.provider];
      if (!provider) throw ApplicationFailure.nonRetryable(`this worker cannot reach ${input.pr.provider} PRs (${input.pr.url})`, 'PrProviderNotConfigured');
      return provider.status({ repo: input.pr.repo, number: input.pr.number });
    },

    /** Records a PR's merge or close in evidence and tells the finding's channels. */
    async recordPullRequest(input: Ids & { pr: PullRequestState; event: PullRequestClosed }): Promise<void> {
      const e = input.event;
      await record(input, `pr-${input.pr.number}-${e.merged ? 'merged' : 'closed'}`, { pr: input.pr, event: e });
      await deps.notifier.send({
        kind: 'answered',
        findingId: input.findingId,
        targets: [],
        text: e.merged ? `PR ${input.pr.url} merged${e.by ? ` by ${e.by}` : ''}: verifying once the change is applied` : `PR ${input.pr.url} closed without merge${e.by ? ` by ${e.by}` : ''}: back to approval`,
      });
    },

    /** Detects again: closed only when the same drift is gone. A failed detection is never "clean". */
    async verifyClosure(input: Ids & { observation: DriftObservation; attempt: number; action?: string }): Promise<{ clean: boolean; detail: string }> {
      const o = input.observation;
      let result: { clean: boolean; detail: string };
      if (input.action === 'IGNORE') {
        // A governed ignore is verified by policy: the merged registry's exception now covers the drift.
        const d = await deps.policy.classify(o, now());
        const covered = d.reasons.find((r) => r.ruleId === 'exception-active');
        result = covered
          ? { clean: true, detail: `${o.resourceRef} is covered by an exception now: ${covered.why}` }
          : { clean: false, detail: `no active exception covers ${o.changedFields.join(', ')} on ${o.resourceRef} yet (is the registry PR merged and deployed?)` };
      } else if (!(await detector.has(o.unit))) {
        result = { clean: false, detail: `no detector can observe ${o.unit}: could not tell` };
      } else {
        const at = now();
        // The drifted resource alone when the detector can read just it (a stale detection needs the whole unit).
        const one = o.detectorStatus === undefined && detector.detectResource !== undefined;
        const detection = one ? await detector.detectResource!(o, at) : await detector.detect(o.unit, at);
        // Only a detection of the whole unit says when the unit was last seen (staleness).
        if (!one) await deps.status?.record(o.unit, detection.status === 'ok' ? { status: 'ok' } : { status: 'failed', error: detection.error }, at);
        if (detection.status === 'failed') result = { clean: false, detail: `detection failed, could not tell: ${detection.error}` };
        else if (o.detectorStatus !== undefined) {
          // A stale detection closes when the unit's detection succeeds again; any drift it finds opens its own lifecycle at the next scan.
          result = { clean: true, detail: `detection of ${o.unit} succeeds again (${detection.observations.length} drifted resource(s) of ${detection.resources})` };
        } else {
          const still = detection.observations.find((x) => x.resourceRef === o.resourceRef);
          result = still
            ? { clean: false, detail: `${o.resourceRef} still differs at ${still.changedFields.join(', ')}` }
            : { clean: true, detail: `${o.resourceRef} matches desired state` };
        }
      }
      await record(input, `verified-${input.attempt}`, result);
      return result;
    },

    /** Writes the closing record: the finding in the schema other tools read. */
    async closeFinding(input: Ids & { outcome: Outcome; escalations: number; detections: number }): Promise<void> {
      // This run's own records hold what was detected and decided; the finding joins the two.
      const mine = (await deps.evidence.read(input.findingId)).filter((r) => r.runId === input.runId);
      const observation = (mine.find((r) => r.step === 'detected')?.data as { observation?: DriftObservation } | undefined)?.observation;
      const decision = (mine.find((r) => r.step === 'classified')?.data as { decision?: LifecycleDecision } | undefined)?.decision;
      const finding = observation && decision ? toFindingRecord(input.findingId, observation, decision, evidenceUri(input.findingId)) : undefined;
      await record(input, 'closed', { outcome: input.outcome, escalations: input.escalations, detections: input.detections, ...(finding ? { finding } : {}) });
      await deps.notifier.send({ kind: 'closed', findingId: input.findingId, targets: [], text: `closed: ${input.outcome}` });
    },
  };
}

/** The lifecycle activities, as the workflow sees them. */
export type LifecycleActivities = ReturnType<typeof createLifecycleActivities>;
