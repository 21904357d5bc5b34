/**
 * Classification (issue 4): from a raw difference to a decision a person can trust.
 * Pure: no I/O and no clock. Load a decision table with registry/decision-table.ts.
 */
export { classify, type ClassifyOptions } from './classify';
export * from './vocabulary';
export * from './input';
export * from './decision';
export {
  DecisionTableSchema,
  DecisionRuleSchema,
  DecisionTableOverridesSchema,
  DecisionRuleOverrideSchema,
  RuleConditionsSchema,
  RuleOutcomeSchema,
  BudgetSchema,
  DecisionTableMergeError,
  mergeDecisionTable,
  tableDigest,
  canonicalJson,
  type DecisionTable,
  type DecisionRule,
  type DecisionTableOverrides,
  type RuleConditions,
  type RuleOutcome,
  type Budget,
} from './table';
export { analyzePlanes, NoDriftInPlanesError, type PlaneAnalysis } from './planes';
export {
  resolveOwnership,
  managerKind,
  ownerKindOf,
  writersOf,
  fieldsV1Covers,
  type FieldOwnership,
  type FieldWriter,
} from './ownership';
export { categoriesOf, isSecretPointer } from './categories';
export { pointerCovers, pointerSegments } from './pointer';
export { redactText, REDACTED } from './redact';
export { fingerprintless, decisionKey } from './fingerprintless';
export {
  PolicyTestFileSchema,
  PolicyCaseSchema,
  PolicyExpectSchema,
  runPolicyCase,
  compareDecision,
  caseInput,
  deepMerge,
  formatMismatches,
  type PolicyTestFile,
  type PolicyCase,
  type PolicyExpect,
  type PolicyCaseResult,
  type PolicyMismatch,
} from './policy-test';
