import { z } from 'zod';
import { ChangeTypeSchema, RelationshipSchema } from '../finding';
import { fnv1a64 } from '../fingerprint';
import { ActionSchema, CategorySchema, DriftClassSchema, OwnerKindSchema, RiskSchema } from './vocabulary';

/**
 * The decision table as data (issue 4): rules with an id, match conditions (`when`) and
 * outcomes (`then`). Evaluation (evaluate.ts): rules are tried in order; every rule whose
 * conditions all hold fires and is listed in the decision's reasons. The first fired rule that
 * sets driftClass, action or risk decides that field; `riskAtLeast` floors, `riskRaise` raises
 * by steps and `riskAtMost` caps risk; one `autoHeal: deny` refuses auto-heal, and at least one `allow` is needed.
 * A rule with `stop: true` ends evaluation.
 */

const Pointer = z
  .string()
  .refine((s) => s === '' || s.startsWith('/'), {
    message: 'must be a JSON pointer ("" or starting with "/")',
  });

const ActorTypeCond = z.enum(['human', 'controller', 'break-glass', 'ci', 'unknown', 'none']);

/** Match conditions of a rule. Every given condition must hold (AND); `any` is OR, `not` negates. */
export type RuleConditions = {
  relationship?: z.infer<typeof RelationshipSchema>[];
  changeType?: z.infer<typeof ChangeTypeSchema>[];
  environment?: string[];
  riskTier?: string[];
  domain?: string[];
  resourceType?: string[];
  categoriesAny?: z.infer<typeof CategorySchema>[];
  categoriesOnly?: z.infer<typeof CategorySchema>[];
  pathsAny?: string[];
  pathsAll?: string[];
  ownersAll?: z.infer<typeof OwnerKindSchema>[];
  ownersAny?: z.infer<typeof OwnerKindSchema>[];
  ownershipAmbiguous?: boolean;
  actorType?: z.infer<typeof ActorTypeCond>[];
  matchingChange?: boolean;
  incident?: ('open' | 'resolved' | 'none')[];
  exception?: ('active' | 'expired' | 'none')[];
  providerUpgrade?: boolean;
  dependencyChanged?: boolean;
  policyViolation?: boolean;
  createdBeforePolicy?: boolean;
  runtimeAccepted?: boolean;
  detector?: ('ok' | 'failed' | 'overdue')[];
  reconcileAttemptsAtLeast?: number;
  reconcileError?: boolean;
  secretVersionMismatch?: boolean;
  consumersStale?: boolean;
  secretRefreshAgeAtLeast?: number;
  healthy?: boolean;
  changeFreeze?: boolean;
  destructive?: boolean;
  importing?: boolean;
  moved?: boolean;
  costIncreaseAtLeast?: number;
  unitAutoHeal?: boolean;
  requireIncidentForManualChange?: boolean;
  /** The drift came back after its lifecycle closed RECONCILED within the unit's reopen window (`context.regression`). */
  regression?: boolean;
  /** Whether an earlier fired rule already set the drift class (for catch-all rules). */
  classified?: boolean;
  /** The drift class set by earlier fired rules is one of these (for modifier rules). */
  driftClass?: z.infer<typeof DriftClassSchema>[];
  any?: RuleConditions[];
  not?: RuleConditions;
};

/** Schema of a rule's match conditions. */
export const RuleConditionsSchema: z.ZodType<RuleConditions> = z.lazy(() =>
  z.strictObject({
    relationship: z.array(RelationshipSchema).optional(),
    changeType: z.array(ChangeTypeSchema).optional(),
    environment: z.array(z.string().min(1)).optional(),
    riskTier: z.array(z.string().min(1)).optional(),
    domain: z.array(z.string().min(1)).optional(),
    resourceType: z.array(z.string().min(1)).optional(),
    categoriesAny: z.array(CategorySchema).optional(),
    categoriesOnly: z.array(CategorySchema).optional(),
    pathsAny: z.array(Pointer).optional(),
    pathsAll: z.array(Pointer).optional(),
    ownersAll: z.array(OwnerKindSchema).optional(),
    ownersAny: z.array(OwnerKindSchema).optional(),
    ownershipAmbiguous: z.boolean().optional(),
    actorType: z.array(ActorTypeCond).optional(),
    matchingChange: z.boolean().optional(),
    incident: z.array(z.enum(['open', 'resolved', 'none'])).optional(),
    exception: z.array(z.enum(['active', 'expired', 'none'])).optional(),
    providerUpgrade: z.boolean().optional(),
    dependencyChanged: z.boolean().optional(),
    policyViolation: z.boolean().optional(),
    createdBeforePolicy: z.boolean().optional(),
    runtimeAccepted: z.boolean().optional(),
    detector: z.array(z.enum(['ok', 'failed', 'overdue'])).optional(),
    reconcileAttemptsAtLeast: z.number().int().nonnegative().optional(),
    reconcileError: z.boolean().optional(),
    secretVersionMismatch: z.boolean().optional(),
    consumersStale: z.boolean().optional(),
    secretRefreshAgeAtLeast: z.number().nonnegative().optional(),
    healthy: z.boolean().optional(),
    changeFreeze: z.boolean().optional(),
    destructive: z.boolean().optional(),
    importing: z.boolean().optional(),
    moved: z.boolean().optional(),
    costIncreaseAtLeast: z.number().optional(),
    unitAutoHeal: z.boolean().optional(),
    requireIncidentForManualChange: z.boolean().optional(),
    regression: z.boolean().optional(),
    classified: z.boolean().optional(),
    driftClass: z.array(DriftClassSchema).optional(),
    any: z.array(RuleConditionsSchema).min(1).optional(),
    not: RuleConditionsSchema.optional(),
  }),
);

/** Routing hints a rule adds (domain text §19). Lists are merged across fired rules. */
export const RouteHintsOutcomeSchema = z.strictObject({
  notify: z.array(z.string().min(1)).optional(),
  createIncident: z.boolean().optional(),
  createIssue: z.boolean().optional(),
  approvers: z.array(z.string().min(1)).optional(),
});

/** A drift budget a decision falls under (domain text §10). Durations are ISO 8601 (`PT10M`). */
export const BudgetSchema = z.strictObject({
  name: z.string().min(1),
  statement: z.string().min(1),
  detectWithin: z.string().optional(),
  classifyWithin: z.string().optional(),
  reconcileWithin: z.string().optional(),
  maxUnauthorized: z.number().int().nonnegative().optional(),
});
/** A drift budget. */
export type Budget = z.infer<typeof BudgetSchema>;

/** What a rule decides when it fires. */
export const RuleOutcomeSchema = z.strictObject({
  driftClass: DriftClassSchema.optional(),
  action: ActionSchema.optional(),
  risk: RiskSchema.optional(),
  riskAtLeast: RiskSchema.optional(),
  riskAtMost: RiskSchema.optional(),
  /**
   * Raises the risk by this many steps (INFO → LOW → MEDIUM → HIGH → CRITICAL): after the decided
   * risk and every `riskAtLeast` floor, before `riskAtMost` caps. Steps of all fired rules add up;
   * CRITICAL stays CRITICAL.
   */
  riskRaise: z.number().int().min(1).max(4).optional(),
  autoHeal: z.enum(['allow', 'deny']).optional(),
  /** Auto-heal only while the workload is healthy (the "Maybe" rows of §9.1). */
  autoHealRequiresHealthy: z.boolean().optional(),
  route: RouteHintsOutcomeSchema.optional(),
  budget: BudgetSchema.optional(),
  stop: z.boolean().optional(),
});
/** A rule outcome. */
export type RuleOutcome = z.infer<typeof RuleOutcomeSchema>;

/** One rule of a decision table. */
export const DecisionRuleSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-.:]*$/, 'rule ids are lowercase kebab-case'),
  /** Why the rule exists; shown in every decision it fires in. */
  why: z.string().min(1),
  /** Where the rule comes from (domain text section). */
  ref: z.string().optional(),
  when: RuleConditionsSchema,
  then: RuleOutcomeSchema,
});
/** A decision rule. */
export type DecisionRule = z.infer<typeof DecisionRuleSchema>;

/** Per-class defaults for action and risk when no fired rule set them. */
export const ClassDefaultsSchema = z.partialRecord(
  DriftClassSchema,
  z.strictObject({ action: ActionSchema, risk: RiskSchema }),
);

/** A decision table document (the default ships as domain/classify/default-decision-table.yaml). */
export const DecisionTableSchema = z
  .strictObject({
    apiVersion: z.literal('driftplane.dev/v1'),
    kind: z.literal('DecisionTable'),
    metadata: z.strictObject({
      name: z.string().min(1),
      version: z.string().min(1),
      description: z.string().optional(),
    }),
    classDefaults: ClassDefaultsSchema,
    rules: z.array(DecisionRuleSchema).min(1),
  })
  .superRefine((t, ctx) => {
    const seen = new Set<string>();
    t.rules.forEach((r, i) => {
      if (seen.has(r.id))
        ctx.addIssue({ code: 'custom', message: `duplicate rule id ${r.id}`, path: ['rules', i, 'id'] });
      seen.add(r.id);
    });
  });
/** A decision table. */
export type DecisionTable = z.infer<typeof DecisionTableSchema>;

/** A rule a registry adds or overrides; `before`/`after` place a new rule next to an existing one. */
export const DecisionRuleOverrideSchema = DecisionRuleSchema.extend({
  before: z.string().optional(),
  after: z.string().optional(),
});

/** Registry-provided changes to a table: rules replaced by id (in place) or added, and rules removed. */
export const DecisionTableOverridesSchema = z.strictObject({
  apiVersion: z.literal('driftplane.dev/v1').optional(),
  kind: z.literal('DecisionTableOverrides').optional(),
  metadata: z.strictObject({ name: z.string().min(1), version: z.string().optional() }).optional(),
  rules: z.array(DecisionRuleOverrideSchema).default([]),
  remove: z.array(z.string()).default([]),
});
/** Registry overrides of a decision table. */
export type DecisionTableOverrides = z.infer<typeof DecisionTableOverridesSchema>;

/** Thrown when overrides refer to a rule the table does not have. */
export class DecisionTableMergeError extends Error {
  override readonly name = 'DecisionTableMergeError';
  constructor(
    message: string,
    readonly ruleId: string,
    readonly index: number,
  ) {
    super(message);
  }
}

/**
 * Merges overrides into a table: a rule whose id exists replaces it in place; a new rule goes
 * `before`/`after` the named rule, or before the table's catch-all (the last rule) when unplaced;
 * `remove` drops rules. Pure; the table is not mutated.
 */
export function mergeDecisionTable(table: DecisionTable, overrides: DecisionTableOverrides): DecisionTable {
  const rules: DecisionRule[] = table.rules.filter((r) => !overrides.remove.includes(r.id));
  overrides.remove.forEach((id, i) => {
    if (!table.rules.some((r) => r.id === id))
      throw new DecisionTableMergeError(`remove: no rule ${id} in table ${table.metadata.name}`, id, i);
  });
  overrides.rules.forEach((o, i) => {
    const { before, after, ...rule } = o;
    const existing = rules.findIndex((r) => r.id === rule.id);
    if (existing >= 0 && before === undefined && after === undefined) {
      rules[existing] = rule;
      return;
    }
    if (existing >= 0) rules.splice(existing, 1);
    const anchor = before ?? after;
    if (anchor !== undefined) {
      const at = rules.findIndex((r) => r.id === anchor);
      if (at < 0)
        throw new DecisionTableMergeError(
          `rule ${rule.id}: ${before !== undefined ? 'before' : 'after'} names unknown rule ${anchor}`,
          rule.id,
          i,
        );
      rules.splice(before !== undefined ? at : at + 1, 0, rule);
      return;
    }
    rules.splice(Math.max(0, rules.length - 1), 0, rule);
  });
  const version = overrides.metadata
    ? `${table.metadata.version}+${overrides.metadata.name}${overrides.metadata.version ? `@${overrides.metadata.version}` : ''}`
    : `${table.metadata.version}+overrides`;
  return { ...table, metadata: { ...table.metadata, version }, rules };
}

/** A stable digest of a table (FNV-1a over canonical JSON), recorded with every decision. */
export function tableDigest(table: DecisionTable): string {
  return fnv1a64(canonicalJson(table));
}

/** JSON with object keys sorted, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
