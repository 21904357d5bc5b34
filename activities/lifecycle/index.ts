import { ApplicationFailure } from '@temporalio/common';
import { toFindingRecord, type DriftObservation } from '../../domain/finding';
import { keylessRedactor, type Redactor } from '../../domain/redaction';
import type { LifecycleDecision, Outcome } from '../../domain/lifecycle';
import type { AnswerRecord, LifecycleRoute } from '../../workflows/messages';
import type { EvidenceStore } from '../../evidence/evidence-store';
import type { LocalPlanes } from '../local-planes/local-planes';
import type { Notifier } from '../notify/console-notifier';
import { notificationDetails } from '../notify/notification-details';
import type { DetectionStatusStore } from '../scan/detection-status';
import { localPlanesDetector, type UnitDetector } from '../scan/detectors';
import { UnknownUnitError, type PolicySource } from './registry-policy';
import type { HotfixLookup } from '../hotfix/window-lookup';

/** What the lifecycle activities need from the outside world. */
export interface LifecycleDeps {
  evidence: EvidenceStore;
  planes: LocalPlanes;
  /** Detects (for verification) and reverts per unit. Default: the local planes only. */
  detector?: UnitDetector;
  /** Records verification detections too: a successful one is a unit's last success. */
  status?: DetectionStatusStore;
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
}

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
  const evidenceUri = (findingId: string) => `file://${deps.evidence.folderOf(findingId)}`;
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
      const route: LifecycleRoute = {
        ...routing,
        approvalTimeout: deps.approvalTimeout,
        maxEscalations: deps.maxEscalations,
        verifyInterval: deps.verifyInterval,
        verifyAttempts: deps.verifyAttempts,
        maxReasonBytes: deps.maxReasonBytes ?? 2048,
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
      if (incident) {
        // Raised once, here, before anyone answers: evidence of the detection is already written (§24.2).
        await deps.notifier.send({
          kind: 'incident',
          findingId: input.findingId,
          targets: [...new Set([...route.notify, `team:${input.decision.owner}`])],
          text: `incident opened for ${input.observation.resourceRef}: ${input.decision.driftClass} (${input.decision.risk})`,
        });
      }
      return route;
    },

    /** Records an approval: a person's answer, or the policy that allowed auto-heal. */
    async recordApproval(
      input: Ids & { approval: { kind: 'person'; answer: AnswerRecord; decision: LifecycleDecision } | { kind: 'auto-heal'; decision: LifecycleDecision } },
    ): Promise<void> {
      await record(input, 'approval', input.approval);
      if (input.approval.kind === 'person') {
        const a = input.approval.answer;
        await deps.notifier.send({ kind: 'answered', findingId: input.findingId, targets: [], text: `${a.answer} by ${a.approver} via ${a.via}: ${a.reason}` });
      }
    },

    /** Escalates an unanswered approval one level and records it. */
    async escalate(input: Ids & { level: number; observation: DriftObservation; decision: LifecycleDecision; route: LifecycleRoute }): Promise<void> {
      await record(input, `escalated-${input.level}`, { level: input.level, after: input.route.approvalTimeout });
      await deps.notifier.send({
        kind: 'escalated',
        findingId: input.findingId,
        targets: [...new Set([...input.route.notify, `team:${input.decision.owner}`])],
        text: `no answer within ${input.route.approvalTimeout}: escalation level ${input.level} for ${input.observation.resourceRef}`,
      });
    },

    /** Carries out the approved action. Reverts run against the unit's actual plane, once per run. */
    async reconcile(
      input: Ids & { observation: DriftObservation; decision: LifecycleDecision; approvedBy: string },
    ): Promise<{ action: string; executed: boolean; detail: string }> {
      const { observation: o, decision } = input;
      const action = decision.recommendedAction;
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
            : // No executor for this action on this unit yet: say so plainly; verification will then tell the truth.
              { action, executed: false, detail: `no executor for ${action} on ${o.unit}; recorded for the owner to carry out` };
      }
      await record(input, 'reconciled', { ...result, approvedBy: input.approvedBy });
      return result;
    },

    /** Detects again: closed only when the same drift is gone. A failed detection is never "clean". */
    async verifyClosure(input: Ids & { observation: DriftObservation; attempt: number }): Promise<{ clean: boolean; detail: string }> {
      const o = input.observation;
      let result: { clean: boolean; detail: string };
      if (!(await detector.has(o.unit))) {
        result = { clean: false, detail: `no detector can observe ${o.unit}: could not tell` };
      } else {
        const at = now();
        const detection = await detector.detect(o.unit, at);
        await deps.status?.record(o.unit, detection.status === 'ok' ? { status: 'ok' } : { status: 'failed', error: detection.error }, at);
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
