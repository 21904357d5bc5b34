import { z } from 'zod';
import { fnv1a64 } from './fingerprint';

/** Which relationship between the three planes (desired, recorded, actual) is broken. */
export const RelationshipSchema = z.enum(['desired!=actual', 'recorded!=actual', 'desired!=recorded', 'state-stale', 'render-noise']);
export type Relationship = z.infer<typeof RelationshipSchema>;

/** What happened to the resource, as the detector saw it. */
export const ChangeTypeSchema = z.enum(['modified', 'deleted', 'created', 'unmanaged']);
export type ChangeType = z.infer<typeof ChangeTypeSchema>;

/** Who or what changed the resource, when an audit trail says so. */
export const ActorSchema = z.object({
  id: z.string().min(1),
  type: z.enum(['human', 'controller', 'break-glass', 'ci', 'unknown']),
});
export type Actor = z.infer<typeof ActorSchema>;

/** One changed field: its JSON pointer, what kind of change, and values when they are safe to show. */
export const FieldChangeSchema = z.object({
  path: z.string(),
  kind: z.enum(['changed', 'added', 'removed']),
  desired: z.unknown().optional(),
  actual: z.unknown().optional(),
});
export type FieldChange = z.infer<typeof FieldChangeSchema>;

/** What a detector reports for one drifted resource, before anyone has classified it. */
export const DriftObservationSchema = z.object({
  unit: z.string().min(1),
  resourceRef: z.string().min(1),
  resourceType: z.string().min(1),
  relationship: RelationshipSchema,
  changeType: ChangeTypeSchema,
  changedFields: z.array(z.string()).min(1),
  diff: z.array(FieldChangeSchema),
  detectedAt: z.iso.datetime(),
  detector: z.string().min(1),
  sourceOfTruth: z.string().optional(),
  stateBackend: z.string().optional(),
  /** The runtime's own health reading (e.g. a Deployment's Available condition); absent when unknown. */
  healthy: z.boolean().optional(),
  /** How many drifted objects the scan that found this one found in the unit: the blast radius of healing it (maxObjectsPerReconcile). */
  scanDrifted: z.number().int().nonnegative().optional(),
  auditCorrelation: z
    .object({ actor: ActorSchema, source: z.string(), eventTime: z.iso.datetime(), eventName: z.string().optional() })
    .optional(),
  /**
   * Set only on a DETECTION_STALE observation: the unit's detector failed, or its last success is
   * older than its tier's interval. The result is unknown, never clean (domain text §24.1).
   */
  detectorStatus: z.enum(['failed', 'overdue']).optional(),
  /** Why the detector failed (scrubbed message), for a stale observation. */
  detectorError: z.string().optional(),
  /** The unit's last successful detection, when one was ever recorded. */
  lastSuccessAt: z.iso.datetime().optional(),
  /**
   * Set by the scan when this detection reopens a finding whose previous run closed RECONCILED
   * within the unit's `policies.reconcile.reopenWindow` (a regression): that run, its outcome and
   * when it closed. Never part of the fingerprint ({@link fingerprintOf}): the same drift keeps its
   * finding id and workflow id; the decision table's `regression-reopened` rule raises its risk.
   */
  regression: z
    .object({ previousRunId: z.string().min(1), previousOutcome: z.string().min(1), closedAt: z.iso.datetime() })
    .optional(),
});
export type DriftObservation = z.infer<typeof DriftObservationSchema>;
/** The earlier run a regression reopens, as an observation carries it. */
export type Regression = NonNullable<DriftObservation['regression']>;

/** The resource reference of a unit-level (detection) observation: `unit/<name>`. */
export function unitResourceRef(unit: string): string {
  return `unit/${unit}`;
}

/** The one field a stale-detection observation names; it keeps every stale case of a unit on one fingerprint. */
export const DETECTOR_STATUS_FIELD = '/detector/status';

/**
 * The observation for a unit whose detection is stale: its detector failed or it is overdue.
 * A failed and an overdue detection of the same unit share one fingerprint, so they join one
 * lifecycle. Pure: the caller passes the time.
 */
export function staleObservation(input: {
  unit: string;
  status: 'failed' | 'overdue';
  detectedAt: string;
  detector: string;
  error?: string;
  lastSuccessAt?: string;
}): DriftObservation {
  return {
    unit: input.unit,
    resourceRef: unitResourceRef(input.unit),
    resourceType: 'DriftManagedUnit',
    // What the detector exists to check; it could not be confirmed.
    relationship: 'desired!=actual',
    changeType: 'modified',
    changedFields: [DETECTOR_STATUS_FIELD],
    diff: [{ path: DETECTOR_STATUS_FIELD, kind: 'changed', desired: 'ok', actual: input.status }],
    detectedAt: input.detectedAt,
    detector: input.detector,
    detectorStatus: input.status,
    ...(input.error ? { detectorError: input.error.slice(0, 500) } : {}),
    ...(input.lastSuccessAt ? { lastSuccessAt: input.lastSuccessAt } : {}),
  };
}

/**
 * The stable fingerprint of a drift: unit + resource + changed fields (order-insensitive).
 * Re-detecting the same drift yields the same fingerprint and so joins the running lifecycle.
 */
export function fingerprintOf(o: Pick<DriftObservation, 'unit' | 'resourceRef' | 'changedFields'>): string {
  const fields = [...new Set(o.changedFields)].sort();
  return fnv1a64([o.unit, o.resourceRef, ...fields].join('\n'));
}

/** The finding id people type: `<unit>:<fingerprint>`. */
export function findingIdOf(o: Pick<DriftObservation, 'unit' | 'resourceRef' | 'changedFields'>): string {
  return `${o.unit}:${fingerprintOf(o)}`;
}

/** The lifecycle's workflow id, derived (never random): `finding:<unit>:<fingerprint>`. */
export function workflowIdOf(findingId: string): string {
  return `finding:${findingId}`;
}

/** Accepts either a finding id or a lifecycle workflow id and returns the finding id. */
export function findingIdFromAny(idOrWorkflowId: string): string {
  return idOrWorkflowId.startsWith('finding:') ? idOrWorkflowId.slice('finding:'.length) : idOrWorkflowId;
}

/** `Kind/namespace/name` (namespace `_` when cluster-scoped): how findings name a Kubernetes-shaped object. */
export function manifestRef(m: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return `${m.kind}/${m.metadata.namespace ?? '_'}/${m.metadata.name}`;
}

/** A finding id as a folder name (evidence is stored one folder per finding). */
export function evidenceFolderName(findingId: string): string {
  return findingId.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * A finding as other tools read it (domain text §11.2; PRODUCT.md): the interface between
 * detection, alerting, incident response and audit. Built when a lifecycle closes.
 */
export const FindingRecordSchema = z.object({
  findingId: z.string().min(1),
  detectedAt: z.iso.datetime(),
  domain: z.string().optional(),
  resourceRef: z.string().min(1),
  environment: z.string().min(1),
  owner: z.string().min(1),
  sourceOfTruth: z.string().optional(),
  stateBackend: z.string().optional(),
  driftClass: z.string().min(1),
  risk: z.string().min(1),
  changedFields: z.array(z.string()),
  auditCorrelation: z.object({ actor: z.string(), actorType: ActorSchema.shape.type, source: z.string(), eventTime: z.iso.datetime() }).optional(),
  recommendedAction: z.string().min(1),
  autoHealAllowed: z.boolean(),
  evidenceUri: z.string().min(1),
});
export type FindingRecord = z.infer<typeof FindingRecordSchema>;

/** Joins what was detected with what was decided into the §11.2 finding. */
export function toFindingRecord(
  findingId: string,
  o: DriftObservation,
  d: { driftClass: string; risk: string; recommendedAction: string; autoHealAllowed: boolean; owner: string; environment: string; domain?: string },
  evidenceUri: string,
): FindingRecord {
  return {
    findingId,
    detectedAt: o.detectedAt,
    ...(d.domain ? { domain: d.domain } : {}),
    resourceRef: o.resourceRef,
    environment: d.environment,
    owner: d.owner,
    ...(o.sourceOfTruth ? { sourceOfTruth: o.sourceOfTruth } : {}),
    ...(o.stateBackend ? { stateBackend: o.stateBackend } : {}),
    driftClass: d.driftClass,
    risk: d.risk,
    changedFields: o.changedFields,
    ...(o.auditCorrelation
      ? { auditCorrelation: { actor: o.auditCorrelation.actor.id, actorType: o.auditCorrelation.actor.type, source: o.auditCorrelation.source, eventTime: o.auditCorrelation.eventTime } }
      : {}),
    recommendedAction: d.recommendedAction,
    autoHealAllowed: d.autoHealAllowed,
    evidenceUri,
  };
}
