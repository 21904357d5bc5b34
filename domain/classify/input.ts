import { z } from 'zod';
import { ChangeTypeSchema, RelationshipSchema } from '../finding';
import { CategorySchema, DriftClassSchema } from './vocabulary';

/**
 * The input of one classification: a unit (from the registry), one change, and its context
 * (issue 4). Field names of the issue are kept; optional fields were added for three-plane
 * analysis, field ownership, bounded auto-heal and the finding schema.
 */

const Pointer = z
  .string()
  .refine((s) => s === '' || s.startsWith('/'), {
    message: 'must be a JSON pointer ("" or starting with "/")',
  });

const IsoDateTime = z.iso.datetime({ offset: true });

/** The unit as the registry describes it (extra registry fields are allowed and ignored). */
export const ClassifyUnitSchema = z.looseObject({
  name: z.string().min(1),
  type: z.string().min(1),
  owner: z.string().min(1),
  environment: z.string().min(1),
  riskTier: z.string().min(1),
  domain: z.string().min(1).optional(),
  policies: z.looseObject({
    autoHeal: z.boolean(),
    requireIncidentForManualChange: z.boolean(),
  }),
});
/** A unit as classification sees it. */
export type ClassifyUnit = z.infer<typeof ClassifyUnitSchema>;

/**
 * Digests (or any comparable token) of the changed fields in each plane. When given, the broken
 * relationship is derived from them (domain text §2) instead of being taken from `relationship`.
 */
export const PlanesSchema = z.strictObject({
  desired: z.string().nullable().optional(),
  recorded: z.string().nullable().optional(),
  actual: z.string().nullable().optional(),
  /** The desired plane differs only by generated output (timestamps, random names). */
  renderOnly: z.boolean().optional(),
  /**
   * When desired == recorded and actual differs: true if the tool's own refresh saw the
   * difference (Terraform `resource_drift`: recorded!=actual); false if only an independent
   * scan saw it and the recorded plane still claims to match (state-stale). Default true.
   */
  refreshObserved: z.boolean().optional(),
});
/** The three planes of a change. */
export type Planes = z.infer<typeof PlanesSchema>;

/** The change being classified. */
export const ChangeSchema = z
  .strictObject({
    resourceRef: z.string().min(1),
    resourceType: z.string().min(1),
    relationship: RelationshipSchema.optional(),
    planes: PlanesSchema.optional(),
    changeType: ChangeTypeSchema,
    changedFields: z.array(Pointer),
    /** Explicit owners per changed pointer; the strongest ownership source. */
    fieldOwners: z.record(z.string(), z.string().min(1)).optional(),
    /** Extra categories the detector already knows (e.g. `identity` from plan normalization). */
    categories: z.array(CategorySchema).optional(),
    /** The plan would delete the resource (or replace it). */
    destructive: z.boolean().optional(),
    /** The plan says the change touches identity (plan normalize `identity`). */
    identity: z.boolean().optional(),
    /** A move: the address the resource had before a refactor. */
    previousAddress: z.string().min(1).optional(),
    /** An import is pending for this resource. */
    importing: z.boolean().optional(),
    /** How many objects a reconcile of this change would touch (for maxObjectsPerReconcile). Default 1. */
    objectCount: z.number().int().nonnegative().optional(),
    /** Before/after values. Accepted so detectors can pass raw diffs; never echoed in any output. */
    before: z.unknown().optional(),
    after: z.unknown().optional(),
  })
  .refine((c) => c.relationship !== undefined || c.planes !== undefined, {
    message: 'either relationship or planes is required',
    path: ['relationship'],
  })
  .refine(
    (c) => {
      const p = c.planes;
      if (!p || c.relationship !== undefined || p.renderOnly === true) return true;
      const d = p.desired ?? undefined;
      const r = p.recorded ?? undefined;
      const a = p.actual ?? undefined;
      return !(d === a && (r === undefined || r === a));
    },
    { message: 'the planes agree: there is no drift to classify', path: ['planes'] },
  );
/** A change. */
export type Change = z.infer<typeof ChangeSchema>;

/** Who changed the resource, from an audit trail (or inferred from managedFields). */
export const ContextActorSchema = z.strictObject({
  id: z.string().min(1),
  type: z.enum(['human', 'controller', 'break-glass', 'ci', 'unknown']),
  source: z.string().min(1).optional(),
  eventTime: IsoDateTime.optional(),
});
/** An actor in the context. */
export type ContextActor = z.infer<typeof ContextActorSchema>;

/** Detector status. `overdue` is also derived from lastSuccessAt + maxAgeMinutes when `now` is known. */
export const DetectorSchema = z.strictObject({
  status: z.enum(['ok', 'failed', 'overdue']),
  lastSuccessAt: IsoDateTime.optional(),
  maxAgeMinutes: z.number().positive().optional(),
  error: z.string().optional(),
});

/** The context of a change (domain text §11.1). */
export const ContextSchema = z.strictObject({
  actor: ContextActorSchema.optional(),
  matchingChange: z.strictObject({ kind: z.enum(['pr', 'apply']), ref: z.string().min(1) }).optional(),
  incident: z.strictObject({ id: z.string().min(1), status: z.enum(['open', 'resolved']) }).optional(),
  exception: z
    .strictObject({ id: z.string().min(1), expiresAt: IsoDateTime, reason: z.string().optional() })
    .optional(),
  providerUpgrade: z.strictObject({ from: z.string().min(1), to: z.string().min(1) }).optional(),
  dependencyChanged: z.boolean().optional(),
  policyViolation: z
    .strictObject({ policyId: z.string().min(1), createdBeforePolicy: z.boolean() })
    .optional(),
  runtimeAccepted: z.boolean().optional(),
  detector: DetectorSchema,
  reconcile: z
    .strictObject({
      attempts: z.number().int().nonnegative(),
      lastError: z.string().optional(),
    })
    .optional(),
  secret: z
    .strictObject({
      externalVersion: z.string().min(1),
      clusterVersion: z.string().min(1),
      consumersStale: z.boolean(),
      lastRefreshAgeMinutes: z.number().nonnegative().optional(),
    })
    .optional(),
  healthy: z.boolean().optional(),
  /**
   * The controller-fight breaker (§24.3): how often this same drift (fingerprint) was auto-healed
   * within the policy's window. When tripped, auto-heal stops and a person decides.
   */
  autoHealBreaker: z
    .strictObject({
      heals: z.number().int().nonnegative(),
      window: z.string().min(1),
      tripped: z.boolean(),
      fields: z.array(z.string()).optional(),
      otherManager: z.string().optional(),
    })
    .optional(),
  changeFreeze: z.boolean().optional(),
  /**
   * The same drift (fingerprint) closed RECONCILED within the unit's reopen window and is back: a
   * regression. The run it reopens, its outcome and when it closed (DriftObservation.regression).
   */
  regression: z
    .strictObject({ previousRunId: z.string().min(1), previousOutcome: z.string().min(1), closedAt: IsoDateTime })
    .optional(),
  /** Monthly cost change in percent (positive = more expensive), from billing/inventory. */
  costDeltaPercent: z.number().optional(),
  /** Conditions ownership rules may require, e.g. `hpa-enabled`. */
  conditions: z.array(z.string().min(1)).optional(),
  /** The evaluation time; `opts.now` wins. Needed for exception expiry and detector age. */
  now: IsoDateTime.optional(),
});
/** The context of a change. */
export type Context = z.infer<typeof ContextSchema>;

/** A bounded auto-heal policy (domain text §9.2). Paths are JSON pointers with `*` wildcards. */
export const AutoHealPolicySchema = z.strictObject({
  name: z.string().min(1).optional(),
  /** `deny`: wherever it applies, nothing is auto-healed. Default `allow` (bounded by the fields below). */
  mode: z.enum(['allow', 'deny']).optional(),
  allowedPaths: z.array(Pointer).optional(),
  deniedPaths: z.array(Pointer).optional(),
  maxObjectsPerReconcile: z.number().int().positive().optional(),
  requireHealthyBeforeHeal: z.boolean().optional(),
  deniedDriftClasses: z.array(DriftClassSchema).optional(),
  evidenceRequired: z.boolean().optional(),
});
/** A bounded auto-heal policy. */
export type AutoHealPolicy = z.infer<typeof AutoHealPolicySchema>;

/** A field ownership rule (domain text §8.3). Paths are JSON pointers with `*` wildcards. */
export const OwnershipRuleSchema = z.strictObject({
  name: z.string().min(1).optional(),
  resource: z
    .strictObject({ group: z.string().optional(), kind: z.string().optional(), type: z.string().optional() })
    .optional(),
  gitOwned: z.array(Pointer).optional(),
  runtimeOwned: z.array(Pointer).optional(),
  policyOwned: z.array(Pointer).optional(),
  controllerOwned: z
    .array(
      z.strictObject({ path: Pointer, owner: z.string().min(1), condition: z.string().min(1).optional() }),
    )
    .optional(),
});
/** A field ownership rule. */
export type OwnershipRule = z.infer<typeof OwnershipRuleSchema>;

/** One Kubernetes `metadata.managedFields` entry (FieldsV1). */
export const ManagedFieldsEntrySchema = z.looseObject({
  manager: z.string().optional(),
  operation: z.string().optional(),
  apiVersion: z.string().optional(),
  time: z.string().optional(),
  fieldsType: z.string().optional(),
  fieldsV1: z.record(z.string(), z.unknown()).optional(),
  subresource: z.string().optional(),
});
/** A managedFields entry. */
export type ManagedFieldsEntry = z.infer<typeof ManagedFieldsEntrySchema>;

/** Optional finding metadata carried through to the decision's finding (domain text §11.2). */
export const FindingMetaSchema = z.strictObject({
  findingId: z.string().min(1).optional(),
  detectedAt: IsoDateTime.optional(),
  sourceOfTruth: z.string().optional(),
  stateBackend: z.string().optional(),
  evidenceUri: z.string().optional(),
});

/** The whole input of `classify` and of `driftplane classify <input.json>`. */
export const ClassifyInputSchema = z.strictObject({
  unit: ClassifyUnitSchema,
  change: ChangeSchema,
  context: ContextSchema,
  autoHealPolicy: AutoHealPolicySchema.optional(),
  /** Every auto-heal policy that applies to the unit; each one's bounds hold, and a `deny` policy wins. */
  autoHealPolicies: z.array(AutoHealPolicySchema).optional(),
  ownershipRules: z.array(OwnershipRuleSchema).optional(),
  /** The live object's `metadata.managedFields` (Kubernetes). */
  managedFields: z.array(ManagedFieldsEntrySchema).optional(),
  /** The live object, used only to map list indexes in changed pointers to FieldsV1 `k:` keys. Never echoed. */
  liveObject: z.unknown().optional(),
  finding: FindingMetaSchema.optional(),
});
/** The input of one classification. */
export type ClassifyInput = z.infer<typeof ClassifyInputSchema>;
