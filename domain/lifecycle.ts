import { z } from 'zod';

/** The stages of a drift lifecycle, in order. */
export const StageSchema = z.enum(['detect', 'classify', 'route', 'approve', 'reconcile', 'verify', 'closed']);
export type Stage = z.infer<typeof StageSchema>;

/** How a lifecycle ended. */
export const OutcomeSchema = z.enum([
  'RECONCILED', // the action ran and a fresh detection found the drift gone
  'REJECTED', // an approver rejected the reconciliation
  'EXPIRED', // nobody answered the approval, even after every escalation
  'NO_ACTION', // the decision was NONE or IGNORE: nothing to reconcile
  'UNVERIFIED', // the action ran but the drift was still there after every re-check
]);
export type Outcome = z.infer<typeof OutcomeSchema>;

/**
 * An approval or rejection as a person gives it (CLI, Slack, dashboard, Temporal UI).
 * One object, because the Temporal UI sends its input box as a single JSON payload.
 */
export const ApprovalInputSchema = z.object({
  approver: z.string().trim().min(1, 'approver is required'),
  reason: z.string().trim().min(1, 'a reason is required'),
  via: z.enum(['cli', 'slack', 'temporal-ui', 'dashboard', 'api']).optional(),
});
export type ApprovalInput = z.infer<typeof ApprovalInputSchema>;

/** A person who may approve for a unit, with every identity they may answer as. */
export interface ApproverIdentity {
  email: string;
  slackUserId?: string;
  githubLogin?: string;
  team?: string;
}

/** The identities an approver may give with `--as`. */
export function identitiesOf(a: ApproverIdentity): string[] {
  return [a.email, a.slackUserId, a.githubLogin].filter((x): x is string => !!x).map((x) => x.toLowerCase());
}

/**
 * Checks an approval against the lifecycle: it must be awaited, come from a listed approver who is
 * not the actor who caused the drift, and carry a reason. Returns the canonical approver (email),
 * or throws an Error whose message says what is wrong (the workflow's validator rejects with it).
 */
export function checkApproval(
  raw: unknown,
  ctx: { awaiting: boolean; approvers: ApproverIdentity[]; driftActor?: string },
): { approver: string; reason: string; via: ApprovalInput['via'] } {
  if (!ctx.awaiting) throw new Error('this lifecycle is not waiting for an approval');
  const parsed = ApprovalInputSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid approval: ${issue?.path.join('.') || 'input'}: ${issue?.message ?? 'malformed'}`);
  }
  const who = parsed.data.approver.toLowerCase();
  const approver = ctx.approvers.find((a) => identitiesOf(a).includes(who));
  if (!approver) throw new Error(`${parsed.data.approver} is not an approver for this unit`);
  const actor = ctx.driftActor?.toLowerCase();
  if (actor && identitiesOf(approver).includes(actor)) {
    throw new Error(`${parsed.data.approver} caused this drift and cannot approve its reconciliation`);
  }
  return { approver: approver.email, reason: parsed.data.reason.trim(), via: parsed.data.via };
}

/** The decision the lifecycle acts on (the classification activity's answer, recorded in history). */
export const LifecycleDecisionSchema = z.object({
  driftClass: z.string(),
  risk: z.string(),
  recommendedAction: z.string(),
  autoHealAllowed: z.boolean(),
  autoHealRefusedBy: z.string().optional(),
  owner: z.string(),
  environment: z.string(),
  /** The unit's platform domain (iam, network, ...), when the registry gives one. */
  domain: z.string().optional(),
  reasons: z.array(z.object({ ruleId: z.string(), why: z.string() })),
  policyVersion: z.string(),
});
export type LifecycleDecision = z.infer<typeof LifecycleDecisionSchema>;

/** Actions after which there is nothing to reconcile or verify. */
export const NO_RECONCILE_ACTIONS: readonly string[] = ['NONE', 'IGNORE'];
