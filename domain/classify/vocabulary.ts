import { z } from 'zod';

/**
 * The shared vocabulary of classification (PRODUCT.md, domain text §3, §11, §12).
 * Every enum is a `z.enum`, so workflows, the CLI and the dashboard validate the same words.
 */

/** Drift classes: what kind of divergence this is (domain text §3, §5). */
export const DriftClassSchema = z.enum([
  'UNAUTHORIZED_RUNTIME_DRIFT',
  'EMERGENCY_DRIFT',
  'CONTROLLER_OWNED_DRIFT',
  'PROVIDER_READ_NOISE',
  'DEPENDENCY_DRIFT',
  'STALE_DESIRED_STATE',
  'FAILED_RECONCILIATION',
  'POLICY_DRIFT',
  'STATE_DRIFT',
  'IDENTITY_DRIFT',
  'SECRET_DELIVERY_DRIFT',
  'COST_DRIFT',
  'DETECTION_STALE',
]);
/** A drift class. */
export type DriftClass = z.infer<typeof DriftClassSchema>;

/** Reconciliation actions (domain text §12, §17, §18). */
export const ActionSchema = z.enum([
  'RUNTIME_REVERT',
  'OPEN_RECONCILIATION_PR',
  'STATE_REFRESH',
  'IMPORT',
  'STATE_MOVE',
  'IGNORE',
  'INCIDENT',
  'INCIDENT_AND_REVERT',
  'DESTROY_RECREATE',
  'RESTART_CONSUMERS_AFTER_SECRET_SYNC',
  'MIGRATION_PLAN',
  'NONE',
]);
/** A reconciliation action. */
export type Action = z.infer<typeof ActionSchema>;

/** Risk, lowest first. */
export const RiskSchema = z.enum(['INFO', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
/** A risk level. */
export type Risk = z.infer<typeof RiskSchema>;

/** Risk levels in ascending order. */
export const RISK_ORDER: readonly Risk[] = RiskSchema.options;

/** Numeric rank of a risk (INFO = 0 … CRITICAL = 4), for comparisons. */
export function riskRank(risk: Risk): number {
  return RISK_ORDER.indexOf(risk);
}

/** The higher of two risks. */
export function maxRisk(a: Risk, b: Risk): Risk {
  return riskRank(a) >= riskRank(b) ? a : b;
}

/** A risk raised by `steps` levels, saturating at CRITICAL (and at INFO for a negative count). */
export function raiseRisk(risk: Risk, steps: number): Risk {
  const at = Math.min(RISK_ORDER.length - 1, Math.max(0, riskRank(risk) + Math.trunc(steps)));
  return RISK_ORDER[at] as Risk;
}

/** The lower of two risks. */
export function minRisk(a: Risk, b: Risk): Risk {
  return riskRank(a) <= riskRank(b) ? a : b;
}

/**
 * Sensitive categories a change can touch. The first four are the hard-rule categories: drift
 * in them is never silently auto-healed, whatever a decision table says (domain text §5.5, §5.7, §9.1, §18).
 */
export const CategorySchema = z.enum([
  'identity',
  'network-exposure',
  'database',
  'secret',
  'image',
  'replicas',
  'metadata',
  'cost',
  'config',
]);
/** A category of change. */
export type Category = z.infer<typeof CategorySchema>;

/** The categories that a hard rule keeps away from auto-heal. */
export const NEVER_AUTO_HEAL_CATEGORIES: readonly Category[] = [
  'identity',
  'network-exposure',
  'database',
  'secret',
];

/**
 * Who owns a field (domain text §5.3, §8.3): Git (desired state), a runtime controller, the
 * runtime itself (status), policy (mandatory safety fields), a person (a manual edit), or nobody known.
 */
export const OwnerKindSchema = z.enum(['git', 'controller', 'runtime', 'policy', 'manual', 'unknown']);
/** The kind of a field owner. */
export type OwnerKind = z.infer<typeof OwnerKindSchema>;

/** Actions the platform may take by itself when auto-heal is allowed (reversible runtime reverts). */
export const AUTO_HEAL_ACTIONS: readonly Action[] = ['RUNTIME_REVERT', 'INCIDENT_AND_REVERT'];

/** Actions that need nobody: the CLI exits 0 for these even when auto-heal is not allowed. */
export const NO_PERSON_ACTIONS: readonly Action[] = ['NONE', 'IGNORE'];
