import { z } from 'zod';
import { actorCandidates, normalizeIdentity } from './identity';
import { parseSshPublicKey } from './signing/ssh';
import { SignedStatementSchema, verifyStatementSignature, type SignedStatement, type TrustedKey } from './signing/statement';
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
  'FAILED', // the action could not be carried out: refused by policy or lint, or a named permanent error
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
  /** The answer as a channel that authenticated the person signed it (docs/identity.md). */
  statement: SignedStatementSchema.optional(),
});
export type ApprovalInput = z.infer<typeof ApprovalInputSchema>;
/** The input as lifecycles from before signed answers read it: a statement is not looked at. */
const UnsignedApprovalInputSchema = ApprovalInputSchema.omit({ statement: true });

/** A person who may approve for a unit, with every identity they may answer as. */
export interface ApproverIdentity {
  email: string;
  slackUserId?: string;
  githubLogin?: string;
  team?: string;
  /** The person's registered SSH public keys (`ssh-ed25519 AAAA…`): what their CLI answers are signed with. */
  sshPublicKeys?: string[];
}

/** The identities an approver may give with `--as`. */
export function identitiesOf(a: ApproverIdentity): string[] {
  return [a.email, a.slackUserId, a.githubLogin].filter((x): x is string => !!x).map((x) => normalizeIdentity(x));
}

/** Why an answer was refused, as a short stable code: the lifecycle counts refused signals by it. */
export type RefusalCode =
  | 'not-awaiting'
  | 'too-large'
  | 'invalid'
  | 'reason-too-long'
  | 'not-approver'
  | 'drift-actor'
  | 'already-answered'
  // signed answers: none where one is required, one that does not match, is stale, untrusted or forged
  | 'unsigned'
  | 'statement-mismatch'
  | 'statement-expired'
  | 'untrusted-key'
  | 'bad-signature';

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
  /** Set by lifecycles that require proven identity (signed answers); absent: the answer's `approver` is taken as given. */
  identity?: IdentityContext;
}

/** What a signed answer is checked against. */
export interface IdentityContext {
  findingId: string;
  /** What the Update or signal answers (approve: approved, reject: rejected). */
  answer: 'approved' | 'rejected';
  /** Workflow time, epoch ms (deterministic inside a workflow). */
  now: number;
  /** Server keys the lifecycle trusts, from its input. */
  trust: readonly TrustedKey[];
  /** The unit's policy lets an answer without a statement count (default: non-production units only). */
  allowUnauthenticated: boolean;
  /** A statement older than this is refused (default 15 minutes). */
  maxAgeMs?: number;
  /** A statement issued later than this after `now` is refused (default 2 minutes of clock skew). */
  skewMs?: number;
}

/** How long a signed statement stays usable, and how much clock skew is tolerated. */
export const STATEMENT_LIMITS = { maxAgeMs: 15 * 60_000, skewMs: 2 * 60_000 } as const;

/** An accepted answer: who, why, through which channel, and the proof when there is one. */
export interface CheckedApproval {
  approver: string;
  reason: string;
  via: ApprovalInput['via'] | string;
  /** The signed statement that proved the approver's identity. */
  statement?: SignedStatement;
  /** Whether the identity was proven (absent: the lifecycle predates signed answers). */
  authenticated?: boolean;
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
export function checkApproval(raw: unknown, ctx: ApprovalContext): CheckedApproval {
  if (!ctx.awaiting) throw new ApprovalRefused('not-awaiting', 'this lifecycle is not waiting for an approval');
  if (messageSizeExceeds(raw, APPROVAL_LIMITS.messageBytes)) {
    throw new ApprovalRefused('too-large', `the answer is larger than ${APPROVAL_LIMITS.messageBytes} bytes`);
  }
  const parsed = (ctx.identity ? ApprovalInputSchema : UnsignedApprovalInputSchema).safeParse(raw);
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
  if (!ctx.identity) return { approver: approver.email, reason, via: parsed.data.via };
  const statement = 'statement' in parsed.data ? (parsed.data.statement as SignedStatement | undefined) : undefined;
  return { approver: approver.email, reason, ...proveIdentity(parsed.data, statement, approver, ctx.identity) };
}

/**
 * The identity check of a signed-answers lifecycle, after every other check passed: an answer
 * without a statement counts only where the unit's policy allows it; a statement must be for this
 * finding and answer, by the approver the answer names, with the same reason, recent, signed by a
 * key this lifecycle trusts for its channel (a server key) or registered for that person (an SSH
 * key), and its signature must verify.
 */
function proveIdentity(
  input: { approver: string; reason: string; via?: ApprovalInput['via'] },
  signed: SignedStatement | undefined,
  approver: ApproverIdentity,
  id: IdentityContext,
): { via: string; statement?: SignedStatement; authenticated: boolean } {
  if (!signed) {
    if (id.allowUnauthenticated) return { via: input.via ?? 'api', authenticated: false };
    throw new ApprovalRefused('unsigned', 'this unit accepts only signed answers: answer with `driftplane approve` and your registered SSH key, or from Slack');
  }
  const st = signed.statement;
  const mismatch = (what: string) => new ApprovalRefused('statement-mismatch', `the signed statement ${what}`);
  if (st.findingId !== id.findingId) throw mismatch('is for another finding');
  if (st.answer !== id.answer) throw mismatch(`says ${st.answer}, not ${id.answer}`);
  if (normalizeIdentity(st.approver) !== normalizeIdentity(input.approver)) throw mismatch('names another approver');
  if (st.reason.trim() !== input.reason) throw mismatch('gives another reason');
  const issued = Date.parse(st.issuedAt);
  if (id.now - issued > (id.maxAgeMs ?? STATEMENT_LIMITS.maxAgeMs)) {
    throw new ApprovalRefused('statement-expired', `the signed statement was issued at ${st.issuedAt}, more than ${Math.round((id.maxAgeMs ?? STATEMENT_LIMITS.maxAgeMs) / 60_000)} minutes ago: answer again`);
  }
  if (issued - id.now > (id.skewMs ?? STATEMENT_LIMITS.skewMs)) throw new ApprovalRefused('statement-expired', `the signed statement is dated in the future (${st.issuedAt})`);
  if (signed.signer.kind === 'ssh') {
    const line = parseSshPublicKey(signed.signer.publicKey)?.line;
    const registered = (approver.sshPublicKeys ?? []).map((k) => parseSshPublicKey(k)?.line);
    if (line === undefined || !registered.includes(line)) {
      throw new ApprovalRefused('untrusted-key', `the SSH key ${shown(signed.signer.keyId)} is not registered for ${approver.email} in the registry (teams: members[].sshPublicKeys)`);
    }
  } else {
    const key = id.trust.find((k) => k.id === signed.signer.keyId && k.publicKey === signed.signer.publicKey);
    if (!key) throw new ApprovalRefused('untrusted-key', `the key ${shown(signed.signer.keyId)} is not one this lifecycle trusts`);
    if (!key.channels.includes('*') && !key.channels.includes(st.channel)) {
      throw new ApprovalRefused('untrusted-key', `the key ${shown(signed.signer.keyId)} may not vouch for answers from ${shown(st.channel)}`);
    }
  }
  const verified = verifyStatementSignature(signed);
  if (!verified.ok) throw new ApprovalRefused('bad-signature', `the signed statement does not verify: ${verified.why}`);
  return { via: st.channel, statement: signed, authenticated: true };
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

/** Since the reconcile-executors patch, only NONE skips reconciliation: IGNORE is a governed exception PR. */
export const NO_RECONCILE_ACTIONS_WITH_EXECUTORS: readonly string[] = ['NONE'];

/** Rules whose firing means an IGNORE is already governed (an active exception, a declared owner): nothing to add. */
const GOVERNED_IGNORE_RULES = ['exception-active', 'controller-owned-field'];

/**
 * Whether a decision leads to a reconciliation (and so to an approval, unless auto-heal is allowed).
 * Pure and deterministic: the workflow calls it. Before the reconcile-executors patch, IGNORE and
 * NONE closed without action; after it, IGNORE opens a registry PR adding a scoped exception,
 * unless a fired rule shows the difference is already governed.
 */
export function needsReconciliation(decision: Pick<LifecycleDecision, 'recommendedAction' | 'reasons'>, executors: boolean): boolean {
  if (!executors) return !NO_RECONCILE_ACTIONS.includes(decision.recommendedAction);
  if (NO_RECONCILE_ACTIONS_WITH_EXECUTORS.includes(decision.recommendedAction)) return false;
  if (decision.recommendedAction === 'IGNORE') return !decision.reasons.some((r) => GOVERNED_IGNORE_RULES.includes(r.ruleId));
  return true;
}
