import type { DriftObservation } from '../../domain/finding';
import type { LifecycleDecision } from '../../domain/lifecycle';
import type { LifecycleRoute } from '../../workflows/messages';
import type { NotificationDetails } from './console-notifier';

/** The finding's details for a rich notification: what changed, who did it, what was decided and why. */
export function notificationDetails(
  o: DriftObservation,
  decision: LifecycleDecision,
  route: LifecycleRoute,
  needsPerson: boolean,
): NotificationDetails {
  const actor = route.actor?.person ?? o.auditCorrelation?.actor.id;
  return {
    unit: o.unit,
    resourceRef: o.resourceRef,
    driftClass: decision.driftClass,
    risk: decision.risk,
    recommendedAction: decision.recommendedAction,
    changedFields: o.changedFields.slice(0, 50),
    ...(actor ? { actor } : {}),
    rules: decision.reasons.slice(0, 20).map((r) => ({ ruleId: r.ruleId, why: r.why })),
    approvers: route.approvers.map((a) => a.email),
    needsPerson,
    ...((route.requiredApprovals ?? 1) > 1 ? { requiredApprovals: route.requiredApprovals, approvalNotes: route.approvalNotes ?? [] } : {}),
  };
}
