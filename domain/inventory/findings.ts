import { z } from 'zod';
import { DetectionCoverageSchema } from '../finding';

/**
 * The scan sees two planes only: recorded (state) and actual (cloud). It never sees desired
 * configuration, so it never claims `desired!=actual`; a plan does that.
 */
export const InventoryRelationshipSchema = z.literal('recorded!=actual');

/** Placeholder that replaces a value state marks sensitive. */
export const REDACTED = '(sensitive)';

/** One attribute difference. `path` is a JSON pointer in tfstate attribute names. */
export const AttributeChangeSchema = z.object({
  path: z.string(),
  op: z.enum(['changed', 'added', 'removed']),
  recorded: z.unknown().optional(),
  actual: z.unknown().optional(),
});
/** One attribute difference. */
export type AttributeChange = z.infer<typeof AttributeChangeSchema>;

/** A resource in a unit's state whose cloud counterpart differs. */
export const ChangedFindingSchema = z.object({
  kind: z.literal('changed'),
  unit: z.string(),
  address: z.string(),
  type: z.string(),
  resourceId: z.string(),
  relationship: InventoryRelationshipSchema,
  changedPaths: z.array(z.string()),
  changes: z.array(AttributeChangeSchema),
});

/** A resource in a unit's state that is gone from the cloud (state drift, domain text §5.2). */
export const DeletedFindingSchema = z.object({
  kind: z.literal('deleted'),
  unit: z.string(),
  address: z.string(),
  type: z.string(),
  resourceId: z.string(),
  relationship: InventoryRelationshipSchema,
});

/** A resource in the account that no registered state records: a candidate for IMPORT. */
export const UnmanagedFindingSchema = z.object({
  kind: z.literal('unmanaged'),
  type: z.string(),
  resourceId: z.string(),
  arn: z.string().optional(),
  relationship: InventoryRelationshipSchema,
  candidateAction: z.literal('IMPORT'),
});

/** Any inventory finding. */
export const InventoryFindingSchema = z.discriminatedUnion('kind', [
  ChangedFindingSchema,
  DeletedFindingSchema,
  UnmanagedFindingSchema,
]);
/** Any inventory finding. */
export type InventoryFinding = z.infer<typeof InventoryFindingSchema>;
/** A changed finding. */
export type ChangedFinding = z.infer<typeof ChangedFindingSchema>;
/** A deleted finding. */
export type DeletedFinding = z.infer<typeof DeletedFindingSchema>;
/** An unmanaged finding. */
export type UnmanagedFinding = z.infer<typeof UnmanagedFindingSchema>;

/**
 * A resource (or a whole listing, when `resourceId` is absent) the scan could not read. It is an
 * unknown, never "no drift" (domain text §24.1).
 */
export const DetectionFailureSchema = z.object({
  status: z.literal('DETECTION_FAILED'),
  unit: z.string().optional(),
  address: z.string().optional(),
  type: z.string(),
  resourceId: z.string().optional(),
  code: z.string(),
  message: z.string(),
});
/** A resource the scan could not read. */
export type DetectionFailure = z.infer<typeof DetectionFailureSchema>;

/** A resource in state the scan does not cover (listed so nothing is dropped silently). */
export const NotScannedSchema = z.object({
  unit: z.string(),
  address: z.string(),
  type: z.string(),
  reason: z.string(),
});
/** A resource in state the scan does not cover. */
export type NotScanned = z.infer<typeof NotScannedSchema>;

/** The result of comparing one unit's recorded state with the cloud. */
export const UnitInventoryReportSchema = z.object({
  unit: z.string(),
  stateSource: z.string(),
  compared: z.number().int(),
  findings: z.array(z.union([ChangedFindingSchema, DeletedFindingSchema])),
  failures: z.array(DetectionFailureSchema),
  notScanned: z.array(NotScannedSchema),
  /**
   * What the scan could read of the recorded state: supported types and resources against all of
   * them (the `notScanned` ones are the uncovered ones). Optional only for reports made before it existed.
   */
  coverage: DetectionCoverageSchema.optional(),
});
/** The result of comparing one unit's recorded state with the cloud. */
export type UnitInventoryReport = z.infer<typeof UnitInventoryReportSchema>;

/** The result of the account-wide pass for resources no registered state records. */
export const UnmanagedReportSchema = z.object({
  findings: z.array(UnmanagedFindingSchema),
  failures: z.array(DetectionFailureSchema),
  /**
   * What the pass could tell managed or unmanaged (the listed types) against every resource known
   * to be in the account. Optional only for reports made before it existed.
   */
  coverage: DetectionCoverageSchema.optional(),
});
/** The result of the account-wide unmanaged pass. */
export type UnmanagedReport = z.infer<typeof UnmanagedReportSchema>;
