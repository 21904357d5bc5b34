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

/**
 * A reference to a large artifact kept in the evidence store (content-addressed), e.g. the raw plan
 * JSON of the detection that found the drift: only this reference travels in workflow history.
 */
export const ArtifactRefSchema = z.object({
  name: z.string().min(1),
  /** `evidence://artifacts/sha256/<hex>` */
  uri: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
});
export type ArtifactRef = z.infer<typeof ArtifactRefSchema>;

/**
 * Signals a detector (or a context source) joined with one change (domain text §6, §11.1): what
 * the decision table's context needs beyond the change itself. Every field is optional; a field
 * is set only when its source said so. Never part of the fingerprint.
 */
export const ObservationContextSchema = z.object({
  /** Per-plane digests of the changed fields, when the detector saw each plane (plans: desired, recorded, actual). */
  planes: z
    .object({
      desired: z.string().nullable().optional(),
      recorded: z.string().nullable().optional(),
      actual: z.string().nullable().optional(),
      renderOnly: z.boolean().optional(),
      refreshObserved: z.boolean().optional(),
    })
    .optional(),
  /** Owner (a managedFields manager name, `git`, `controller:<name>`, …) per changed JSON pointer. */
  fieldOwners: z.record(z.string(), z.string().min(1)).optional(),
  /** The live object's `metadata.managedFields` (Kubernetes), for the classifier's ownership logic. */
  managedFields: z.array(z.looseObject({ manager: z.string().optional() })).optional(),
  /** Extra categories the detector already knows (names of the classifier's Category enum). */
  categories: z.array(z.string().min(1)).optional(),
  destructive: z.boolean().optional(),
  identity: z.boolean().optional(),
  previousAddress: z.string().min(1).optional(),
  importing: z.boolean().optional(),
  /** When the live resource was created (Kubernetes creationTimestamp, cloud creation time). */
  resourceCreatedAt: z.iso.datetime({ offset: true }).optional(),
  /** A merged PR or an apply/commit that changed this unit's source in the detection window. */
  matchingChange: z.object({ kind: z.enum(['pr', 'apply']), ref: z.string().min(1) }).optional(),
  /** An incident covering the unit (PagerDuty-shaped source or the registry's incident file). */
  incident: z.object({ id: z.string().min(1), status: z.enum(['open', 'resolved']) }).optional(),
  /** The drift was detected inside a ChangeFreeze window covering the unit: its name. */
  changeFreeze: z.string().min(1).optional(),
  /** The provider versions in `.terraform.lock.hcl` changed since the last successful detection. */
  providerUpgrade: z.object({ from: z.string().min(1), to: z.string().min(1) }).optional(),
  /** A mutable reference (image tag without digest, unpinned module/chart version) in desired or live: what it is. */
  dependency: z.object({ ref: z.string().min(1), why: z.string().min(1) }).optional(),
  /** A CompliancePolicy the live resource violates, and whether the resource predates it. */
  policyViolation: z.object({ policyId: z.string().min(1), createdBeforePolicy: z.boolean() }).optional(),
  /** Monthly cost change in percent from a size change (positive = more expensive). */
  costDeltaPercent: z.number().optional(),
  /** A GitOps controller's failed attempts to converge (Argo CD operationState, Flux Stalled/Ready=False). */
  reconcile: z.object({ attempts: z.number().int().nonnegative(), lastError: z.string().optional() }).optional(),
  /** Secret delivery (§17): versions and consumers; never a value. */
  secret: z
    .object({
      externalVersion: z.string().min(1),
      clusterVersion: z.string().min(1),
      consumersStale: z.boolean(),
      lastRefreshAgeMinutes: z.number().nonnegative().optional(),
    })
    .optional(),
  runtimeAccepted: z.boolean().optional(),
  conditions: z.array(z.string().min(1)).optional(),
  /** The GitOps controller's own reading, kept apart (§8.1): sync status and health are different findings. */
  gitops: z
    .object({
      controller: z.enum(['argocd', 'flux']),
      sync: z.string().optional(),
      health: z.string().optional(),
      revision: z.string().optional(),
      attemptedRevision: z.string().optional(),
      phase: z.string().optional(),
    })
    .optional(),
  /** Large artifacts (the raw plan) kept in the evidence store. */
  artifacts: z.array(ArtifactRefSchema).optional(),
  /** Context sources that could not be read for this detection: the context is incomplete, not empty. */
  unjoined: z.array(z.string().min(1)).optional(),
});
export type ObservationContext = z.infer<typeof ObservationContextSchema>;

/**
 * How much of a unit a detection could see (like driftctl's coverage): resource types the
 * detector supports against all types present, and resources likewise. Uncovered types are
 * reported, never counted as clean.
 */
export const DetectionCoverageSchema = z.object({
  coveredTypes: z.number().int().nonnegative(),
  totalTypes: z.number().int().nonnegative(),
  coveredResources: z.number().int().nonnegative(),
  totalResources: z.number().int().nonnegative(),
  /** Resource types present that the detector cannot read, sorted. */
  uncoveredTypes: z.array(z.string()),
});
export type DetectionCoverage = z.infer<typeof DetectionCoverageSchema>;

/** True when a detection saw every resource type and every resource of its unit: only then can "no drift" mean clean. */
export function isFullCoverage(c: DetectionCoverage): boolean {
  return c.uncoveredTypes.length === 0 && c.coveredTypes >= c.totalTypes && c.coveredResources >= c.totalResources;
}

/** Coverage as a percentage of resources (100 when there is nothing to cover). */
export function coveragePercent(c: DetectionCoverage): number {
  return c.totalResources === 0 ? 100 : Math.floor((c.coveredResources / c.totalResources) * 1000) / 10;
}

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
  /** Joined signals for the decision table (issue 11); never part of the fingerprint. */
  context: ObservationContextSchema.optional(),
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
