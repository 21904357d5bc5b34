import { z } from 'zod';

/**
 * The output of `driftplane plan normalize --json` (PRODUCT.md "Shared contracts"). Fields the
 * contract lists are always present; the optional ones are additions that never change the meaning
 * of the contract's fields.
 */

/**
 * - `NO_CHANGES`: the plan completed and neither `resource_drift` nor `resource_changes` changes anything.
 * - `DRIFT_DETECTED`: at least one drift or change entry.
 * - `DETECTION_FAILED`: the plan is `errored: true`, or incomplete with nothing found, or has no
 *   `resource_changes` while its states hold managed resources: we could not tell, which
 *   must never read as "no drift".
 */
export const PlanResultSchema = z.enum(['NO_CHANGES', 'DRIFT_DETECTED', 'DETECTION_FAILED']);
/** See {@link PlanResultSchema}. */
export type PlanResult = z.infer<typeof PlanResultSchema>;

/** The action reasons OpenTofu documents. Others are passed through unchanged (the docs say to tolerate them). */
export const KNOWN_ACTION_REASONS = [
  'replace_because_tainted',
  'replace_because_cannot_update',
  'replace_by_request',
  'replace_by_triggers',
  'delete_because_no_resource_config',
  'delete_because_no_module',
  'delete_because_wrong_repetition',
  'delete_because_count_index',
  'delete_because_each_key',
  'delete_because_no_move_target',
  'read_because_config_unknown',
  'read_because_dependency_pending',
  'read_because_check_nested',
] as const;

const actions = z.array(z.string().min(1)).min(1);

/** One `resource_drift` entry: the recorded state differs from the actual object. */
export const ResourceDriftSchema = z.object({
  address: z.string().min(1),
  type: z.string().min(1),
  actions,
  relationship: z.literal('recorded!=actual'),
  changedPaths: z.array(z.string()),
  /** Set when the drift was seen on an object whose address moved (`previous_address`). */
  previousAddress: z.string().optional(),
  /** Set when the entry is about a deposed object rather than the current one. */
  deposed: z.string().optional(),
  /** Identity-and-access resource type (same rule as for changes). */
  identity: z.boolean(),
  /** Attributes of this resource that `relevant_attributes` says contributed to the plan's changes. */
  relevantPaths: z.array(z.string()).optional(),
});
/** See {@link ResourceDriftSchema}. */
export type ResourceDrift = z.infer<typeof ResourceDriftSchema>;

/** One `resource_changes` entry that changes anything: desired (config) differs from actual. */
export const ResourceChangeSchema = z.object({
  address: z.string().min(1),
  type: z.string().min(1),
  actions,
  actionReason: z.string().optional(),
  relationship: z.literal('desired!=actual'),
  changedPaths: z.array(z.string()),
  /** The actions include `delete` (delete, delete-then-create, create-then-delete). */
  destructive: z.boolean(),
  /** The resource type is identity and access (see IDENTITY_RESOURCE_TYPE_PATTERNS). */
  identity: z.boolean(),
  importing: z.literal(true).optional(),
  previousAddress: z.string().optional(),
  deposed: z.string().optional(),
  /** JSON pointers of the attributes that forced a replacement (`replace_paths`). */
  replacePaths: z.array(z.string()).optional(),
  /** OpenTofu's resource identity (`before_identity` → `after_identity`) changes. */
  objectIdentityChanged: z.literal(true).optional(),
});
/** See {@link ResourceChangeSchema}. */
export type ResourceChange = z.infer<typeof ResourceChangeSchema>;

/** A root output value that changes. Never carries the value; `sensitive` says whether it is one. */
export const OutputChangeSchema = z.object({
  name: z.string(),
  actions,
  sensitive: z.boolean(),
});
/** See {@link OutputChangeSchema}. */
export type OutputChange = z.infer<typeof OutputChangeSchema>;

/** Counts of the normalized plan. `identityDrift` is an addition: identity entries in `resourceDrift`. */
export const PlanSummarySchema = z.object({
  resourceChanges: z.number().int().nonnegative(),
  destructiveChanges: z.number().int().nonnegative(),
  identityChanges: z.number().int().nonnegative(),
  driftedResources: z.number().int().nonnegative(),
  identityDrift: z.number().int().nonnegative(),
});
/** See {@link PlanSummarySchema}. */
export type PlanSummary = z.infer<typeof PlanSummarySchema>;

/** The normalized plan: the `plan normalize` contract. */
export const NormalizedPlanSchema = z.object({
  formatVersion: z.string(),
  /** `terraform_version` of the plan; `"unknown"` when the plan does not say (e.g. equivalence-test output). */
  toolVersion: z.string(),
  result: PlanResultSchema,
  /**
   * Set when the result is DETECTION_FAILED, saying why: the plan errored, it is incomplete and
   * found nothing, or it has no `resource_changes` while its states hold managed resources.
   * Names fields and resource addresses, never a value.
   */
  failureReason: z.string().optional(),
  /**
   * The plan has no `resource_changes` while its prior state or planned values hold managed
   * resources: its changes were lost (the result is DETECTION_FAILED). Never set for a plan
   * normalized as refresh-only.
   */
  changesMissing: z.literal(true).optional(),
  /** `errored: true` in the plan. Always DETECTION_FAILED. */
  errored: z.boolean(),
  /** `complete: false` in the plan (deferred actions): the lists may be partial. */
  complete: z.boolean(),
  resourceDrift: z.array(ResourceDriftSchema),
  resourceChanges: z.array(ResourceChangeSchema),
  /** Root output changes, names and actions only. They do not make a plan DRIFT_DETECTED. */
  outputChanges: z.array(OutputChangeSchema),
  summary: PlanSummarySchema,
});
/** See {@link NormalizedPlanSchema}. */
export type NormalizedPlan = z.infer<typeof NormalizedPlanSchema>;
