import { z } from 'zod';
import { RelationshipSchema } from '../finding';
import { BudgetSchema } from './table';
import { ActionSchema, CategorySchema, DriftClassSchema, OwnerKindSchema, RiskSchema } from './vocabulary';

/** One rule that fired, and why (shown to people and recorded as evidence). */
export const ReasonSchema = z.strictObject({ ruleId: z.string().min(1), why: z.string().min(1) });
/** A reason. */
export type Reason = z.infer<typeof ReasonSchema>;

/** The resolved owner of one changed field. */
export const FieldOwnershipSchema = z.strictObject({
  path: z.string(),
  owner: z.string(),
  kind: OwnerKindSchema,
  source: z.string(),
  ambiguous: z.boolean().optional(),
  lastWriter: z
    .strictObject({
      manager: z.string(),
      kind: OwnerKindSchema,
      operation: z.string().optional(),
      time: z.string().optional(),
      subresource: z.string().optional(),
    })
    .optional(),
  managers: z.array(z.string()).optional(),
});

/** Hints for routing (domain text §19): who to tell and whether to open an incident or issue. */
export const RouteHintsSchema = z.strictObject({
  owner: z.string(),
  notify: z.array(z.string()),
  createIncident: z.boolean(),
  createIssue: z.boolean(),
  approvers: z.array(z.string()).optional(),
  labels: z.record(z.string(), z.string()),
});
/** Route hints. */
export type RouteHints = z.infer<typeof RouteHintsSchema>;

/** The finding fields of the domain text §11.2 that a classification can fill. */
export const DecisionFindingSchema = z.strictObject({
  findingId: z.string().optional(),
  detectedAt: z.string().optional(),
  domain: z.string(),
  resourceRef: z.string(),
  environment: z.string(),
  owner: z.string(),
  sourceOfTruth: z.string().optional(),
  stateBackend: z.string().optional(),
  driftClass: DriftClassSchema,
  risk: RiskSchema,
  changedFields: z.array(z.string()),
  auditCorrelation: z
    .strictObject({
      actor: z.string(),
      actorType: z.string(),
      source: z.string(),
      eventTime: z.string().optional(),
    })
    .optional(),
  recommendedAction: ActionSchema,
  autoHealAllowed: z.boolean(),
  evidenceUri: z.string().optional(),
});

/**
 * The decision for one change (PRODUCT.md contract: driftClass, risk, recommendedAction,
 * autoHealAllowed, reasons; plus owner, the refusing bound, relationship, route hints and the
 * finding fields). Never contains a secret value.
 */
export const DecisionSchema = z.strictObject({
  driftClass: DriftClassSchema,
  risk: RiskSchema,
  recommendedAction: ActionSchema,
  autoHealAllowed: z.boolean(),
  /** When auto-heal is refused: the hard rule, AutoHealPolicy bound, unit policy or table rule that refused it. */
  autoHealRefusedBy: z.string().optional(),
  reasons: z.array(ReasonSchema),
  owner: z.string(),
  relationship: RelationshipSchema,
  categories: z.array(CategorySchema),
  fieldOwnership: z.array(FieldOwnershipSchema),
  routeHints: RouteHintsSchema,
  budget: BudgetSchema.optional(),
  /** True when a person must act: not auto-healable and the action is not NONE/IGNORE (CLI exit 2). */
  needsPerson: z.boolean(),
  finding: DecisionFindingSchema,
  table: z.strictObject({ name: z.string(), version: z.string(), digest: z.string() }),
});
/** A decision. */
export type Decision = z.infer<typeof DecisionSchema>;
