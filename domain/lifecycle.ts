import { z } from 'zod';
import { actorCandidates, normalizeIdentity } from './identity';
import { visible } from './terminal-text';

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

/** Bounds on what a person may send a lifecycle (domain text: state must stay small and durable). */
export const APPROVAL_LIMITS = {
  /** A reason is printable text of at most this many UTF-8 bytes (configurable per installation). */
  reasonBytes: 2048,
  /** An identity is at most this long (an e-mail address is at most 254). */
  approverChars: 320,
  /** Any message to a lifecycle whose JSON is larger than this is refused (Updates) or dropped (signals). */
  messageBytes: 16_384,
} as const;

/**
 * An approval or rejection as a person gives it (CLI, Slack, dashboard, Temporal UI).
 * One object, because the Temporal UI sends its input box as a single JSON payload.
 */
export const ApprovalInputSchema = z.object({
  approver: z.string().trim().min(1, 'approver is required').max(APPROVAL_LIMITS.approverChars, `approver is longer than ${APPROVAL_LIMITS.approverChars} characters`),
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
  return [a.email, a.slackUserId, a.githubLogin].filter((x): x is string => !!x).map((x) => normalizeIdentity(x));
}

/** Why an answer was refused, as a short stable code: the lifecycle counts refused signals by it. */
export type RefusalCode = 'not-awaiting' | 'too-large' | 'invalid' | 'reason-too-long' | 'not-approver' | 'drift-actor' | 'already-answered';

/** An answer the lifecycle refuses; the message says why and never repeats more than a short, escaped identity. */
export class ApprovalRefused extends Error {
  override readonly name = 'ApprovalRefused';
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
  }
}

/** Everything an approval is judged against. */
export interface ApprovalContext {
  awaiting: boolean;
  approvers: ApproverIdentity[];
  /** The audit actor's id as the detector saw it (used when it could not be resolved to a person). */
  driftActor?: string;
  /** The person the audit actor resolved to (normalized e-mail), when the registry knows them. */
  actorPerson?: string;
  /** People (normalized e-mail) whose approval is already counted. */
  alreadyApproved?: readonly string[];
  /** UTF-8 bytes a reason may take (default APPROVAL_LIMITS.reasonBytes). */
  maxReasonBytes?: number;
}

/** The UTF-8 length of a string, without TextEncoder (the workflow sandbox need not have it). */
export function utf8Bytes(s: string): number {
  let n = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return n;
}

/** A rough JSON size of an untrusted message, stopping as soon as it passes `limit`. */
export function messageSizeExceeds(raw: unknown, limit: number): boolean {
  let total = 0;
  const walk = (v: unknown, depth: number): boolean => {
    if (depth > 20) return true;
    if (typeof v === 'string') total += v.length + 2;
    else if (Array.isArray(v)) {
      total += 2;
      for (const x of v) if (walk(x, depth + 1)) return true;
    } else if (v && typeof v === 'object') {
      total += 2;
      for (const [k, x] of Object.entries(v)) {
        total += k.length + 3;
        if (walk(x, depth + 1)) return true;
      }
    } else total += 8;
    return total > limit;
  };
  return walk(raw, 0);
}

/** A short, terminal-safe rendering of an identity someone typed, for messages. */
function shown(identity: string): string {
  const v = visible(identity);
  return v.length > 80 ? `${v.slice(0, 80)}…` : v;
}

/**
 * Checks an approval against the lifecycle: it must be awaited, come from a listed approver who is
 * not the person who caused the drift (under any name they act under) and has not answered
 * already, and carry a printable reason of bounded size. Returns the canonical approver (e-mail)
 * and the reason as stored: control and bidi characters made visible, so no terminal, page or
 * log that shows it later can be made to lie. Throws ApprovalRefused with a code and a message.
 */
export function checkApproval(raw: unknown, ctx: ApprovalContext): { approver: string; reason: string; via: ApprovalInput['via'] } {
  if (!ctx.awaiting) throw new ApprovalRefused('not-awaiting', 'this lifecycle is not waiting for an approval');
  if (messageSizeExceeds(raw, APPROVAL_LIMITS.messageBytes)) {
    throw new ApprovalRefused('too-large', `the answer is larger than ${APPROVAL_LIMITS.messageBytes} bytes`);
  }
  const parsed = ApprovalInputSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApprovalRefused('invalid', `invalid approval: ${issue?.path.join('.') || 'input'}: ${issue?.message ?? 'malformed'}`);
  }
  const maxReason = ctx.maxReasonBytes ?? APPROVAL_LIMITS.reasonBytes;
  const reason = visible(parsed.data.reason.trim());
  if (utf8Bytes(reason) > maxReason) {
    throw new ApprovalRefused('reason-too-long', `the reason is longer than ${maxReason} bytes of printable text`);
  }
  const who = normalizeIdentity(parsed.data.approver);
  const approver = ctx.approvers.find((a) => identitiesOf(a).includes(who));
  if (!approver) throw new ApprovalRefused('not-approver', `${shown(parsed.data.approver)} is not an approver for this unit`);
  const email = normalizeIdentity(approver.email);
  const actor = ctx.driftActor === undefined ? [] : actorCandidates(ctx.driftActor);
  if ((ctx.actorPerson !== undefined && normalizeIdentity(ctx.actorPerson) === email) || identitiesOf(approver).some((i) => actor.includes(i))) {
    throw new ApprovalRefused('drift-actor', `${shown(parsed.data.approver)} caused this drift and cannot approve its reconciliation`);
  }
  if (ctx.alreadyApproved?.some((p) => normalizeIdentity(p) === email)) {
    throw new ApprovalRefused('already-answered', `${shown(parsed.data.approver)} has already approved; another approver must answer`);
  }
  return { approver: approver.email, reason, via: parsed.data.via };
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
