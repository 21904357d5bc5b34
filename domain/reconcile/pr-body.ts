/**
 * The body of a reconciliation PR (domain text §23): the finding, why the runtime is accepted as
 * desired (or imported, moved, ignored), what the PR changes, the policy evaluation, the risk and a
 * rollback plan, the expiry of an exception or hotfix, the evidence, and who reviews it.
 *
 * Everything in the context that came from outside is escaped (markdown.ts), so a reason with a `|`
 * or a value with a backtick cannot break the table or the page. Pure and deterministic: the same
 * context renders the same bytes.
 */
import type { Action, DriftClass, Risk } from '../classify/vocabulary';
import { isRedactionToken, isSecretDataKey, isSecretKey, REDACTED } from '../redaction';
import { parsePointer } from '../json-pointer';
import { mdCode, mdFence, mdLink, mdRow, mdText } from './markdown';

/** A rule of the decision table that fired for the finding, and why. */
export interface FiredRule {
  ruleId: string;
  why: string;
}

/** One detected field. Values come redacted from the detector; a secret-looking path is redacted again here. */
export interface DetectedField {
  /** JSON pointer of the field, e.g. `/ingress/0/cidr_blocks`. */
  path: string;
  kind: 'changed' | 'added' | 'removed';
  /** The value in Git (desired state); absent when the field is not declared. */
  desired?: unknown;
  /** The value at runtime; absent when the field is gone. */
  actual?: unknown;
}

/** The audit event that explains the change, when one was found. */
export interface PrAuditCorrelation {
  actor: { id: string; type: string };
  source: string;
  eventName?: string;
  /** ISO date-time of the event. */
  eventTime: string;
}

/** An edit driftplane could not make by itself: a reviewer makes it before merging. */
export interface ManualEdit {
  /** What to change, e.g. `aws_instance.web.instance_type` or `/spec/replicas` in a file. */
  attribute: string;
  /** The value it must get (shown JSON-encoded). */
  value: unknown;
  /** Why driftplane did not edit it, e.g. "set by the expression var.size, not a literal". */
  why: string;
  /** The file to edit, when known. */
  file?: string;
}

/** The change the PR proposes. */
export interface ProposedChange {
  /** One or more sentences: what this PR changes in desired state. */
  summary: string;
  /** Repository paths the PR adds or changes. */
  files: readonly string[];
  /** Edits that must be made by hand (HCL attributes set by expressions, and the like). */
  manual?: readonly ManualEdit[];
  /** Extra instructions shown as a text block, e.g. `importCommandHint(dir)`. */
  instructions?: string;
}

/** The policy evaluation recorded by the lifecycle. */
export interface PolicyEvaluation {
  autoHealAllowed: boolean;
  /** Why auto-heal was refused (one reason per entry); empty when it was allowed. */
  refusals: readonly string[];
  /** The registry/policy version the decision was made with, e.g. `sha256:…`. */
  policyVersion?: string;
}

/** The expiry of an accepted exception or an emergency (hotfix) change. */
export interface PrExpiry {
  /** ISO date (`2026-07-10`) or date-time; the date part is shown. */
  expiresAt: string;
  /** The incident or emergency change record, e.g. `INC-9127`. */
  incidentId?: string;
  /** What must happen by then, e.g. "after vendor remediation". */
  removeWhen?: string;
}

/** Evidence links. Every given link is listed; none is required. */
export interface PrEvidence {
  /** The finding's evidence folder, e.g. `s3://platform-evidence/…`. */
  evidenceUri?: string;
  /** The lifecycle in the Temporal UI. */
  temporalUiUrl?: string;
  /** The cloud/cluster audit event, e.g. `cloudtrail://event/…`. */
  auditEvent?: string;
  /** The drift plan (normalized, redacted). */
  driftPlan?: string;
  /** Anything else, in the given order. */
  other?: readonly { label: string; uri: string }[];
}

/** Action-specific details the rollback plan names. */
export interface RollbackDetails {
  /** IMPORT: the address of the imported resource. */
  importAddress?: string;
  /** STATE_MOVE: the addresses of the `moved` block. */
  moved?: { from: string; to: string };
  /** IGNORE: the exception file this PR adds. */
  exceptionFile?: string;
  /** The working directory of the OpenTofu root, for commands. */
  dir?: string;
}

/** Everything the PR body is generated from. */
export interface PrBodyContext {
  /** `<unit>:<fingerprint>`. */
  findingId: string;
  environment: string;
  /** The owning team. */
  owner: string;
  unit: string;
  resourceRef: string;
  resourceType: string;
  action: Action;
  driftClass: DriftClass;
  risk: Risk;
  /** A sentence on what happened, e.g. "Accepted emergency drift from INC-9127." */
  summary?: string;
  /** Decision-table rules that fired. */
  rules: readonly FiredRule[];
  fields: readonly DetectedField[];
  auditCorrelation?: PrAuditCorrelation;
  /** Why runtime is accepted as desired (or imported, or ignored), and who approved it. */
  acceptance: { reason: string; approvers: readonly string[] };
  proposedChange: ProposedChange;
  policy: PolicyEvaluation;
  /** Extra risk notes (blast radius, dependencies), one sentence each. */
  riskNotes?: readonly string[];
  rollback?: RollbackDetails;
  expiry?: PrExpiry;
  evidence: PrEvidence;
  /** GitHub handles (`@platform-network`), team slugs or e-mail addresses. */
  reviewers: readonly string[];
}

const CLASS_TEXT: Partial<Record<DriftClass, string>> = {
  EMERGENCY_DRIFT: 'Accepted emergency drift',
  UNAUTHORIZED_RUNTIME_DRIFT: 'Unauthorized runtime drift',
  CONTROLLER_OWNED_DRIFT: 'Controller-owned drift',
  STATE_DRIFT: 'State drift',
  STALE_DESIRED_STATE: 'Stale desired state',
};

/**
 * Whether a field's values must not be shown: a path segment names a secret (`password`,
 * `client_secret`, `*_key`; domain/redaction's key rules), or the field is the data of a secret
 * resource (`/data` of a Kubernetes Secret, `secret_string` of a secret version). Upstream redaction
 * should already have replaced such values; this is the second lock.
 */
export function isSecretPath(path: string, resourceType: string): boolean {
  let steps: string[];
  try {
    steps = parsePointer(path);
  } catch {
    steps = path.split(/[/.]/).filter(Boolean);
  }
  const first = steps[0];
  if (first !== undefined && isSecretDataKey(first, resourceType)) return true;
  return steps.some((s) => !/^\d+$/.test(s) && isSecretKey(s));
}

function renderValue(value: unknown, secret: boolean): string {
  if (value === undefined) return '—';
  if (secret && !isRedactionToken(value)) return mdCode(REDACTED, { inTable: true });
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    json = String(value);
  }
  // A long value would make the table unreadable; the evidence keeps it whole.
  if (json.length > 200) json = `${json.slice(0, 199)}…`;
  return mdCode(json, { inTable: true });
}

function isoDate(value: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(value);
  return m ? (m[1] as string) : value;
}

/**
 * The rollback plan of an action: how to undo this PR's effect without destroying anything.
 * Deterministic text; it names the addresses and files of `details` when given.
 */
export function rollbackPlan(action: Action, details: RollbackDetails = {}): string[] {
  const chdir = details.dir ? ` -chdir=${shellQuote(details.dir)}` : '';
  switch (action) {
    case 'IMPORT': {
      const to = details.importAddress ?? '<address>';
      return [
        `Revert this PR's merge commit (remove the ${mdCode('import')} block for ${mdCode(to)} and the generated resource block).`,
        `If the import was already applied, run ${mdCode(`tofu${chdir} state rm '${to}'`)} so OpenTofu forgets the resource without destroying it. Never run ${mdCode('tofu destroy')} to undo an import.`,
      ];
    }
    case 'STATE_MOVE': {
      const mv = details.moved;
      return [
        mv
          ? `Revert this PR's merge commit; if the move was already applied, add the reverse block ${mdCode(`moved { from = ${mv.to}  to = ${mv.from} }`)} with the reverted configuration, so state returns to ${mdCode(mv.from)} without destroying anything.`
          : "Revert this PR's merge commit; if the move was already applied, add a `moved` block with `from` and `to` swapped.",
        `Check with ${mdCode(`tofu${chdir} plan`)}: it must show only moves, no destroy.`,
      ];
    }
    case 'IGNORE':
      return [
        `Delete the exception${details.exceptionFile ? ` ${mdCode(details.exceptionFile)}` : ''} (revert this PR's merge commit): the next detection run compares the field again and reports any drift on it.`,
        'The exception also stops applying on its own when it expires.',
      ];
    case 'MIGRATION_PLAN':
      return [
        'Nothing is applied by merging: the migration plan never auto-applies (§18). Close the PR or revert its merge commit to discard the plan.',
        'Once applied through the database change pipeline, roll back with the backward steps the plan must spell out.',
      ];
    case 'STATE_REFRESH':
      return [
        "Revert this PR's merge commit. A state refresh cannot be undone by Git alone: restore the previous state version from the state backend's history if it must be reverted.",
      ];
    default:
      return [
        "Revert this PR's merge commit (`git revert -m 1 <merge commit>`) through a new PR; the runtime value is then reported as drift again and follows its lifecycle.",
      ];
  }
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Renders the §23 reconciliation PR body as Markdown. Sections, in order: `## Drift
 * Reconciliation` with the Finding/Environment/Owner/Resource lines, `### Classification`,
 * `### Detected fields`, `### Audit correlation`, `### Proposed Desired-State Update`,
 * `### Policy evaluation`, `### Risk and rollback`, `### Expiration` (only with an expiry),
 * `### Evidence`, `### Reviewers`. Ends with one newline.
 */
export function renderPrBody(ctx: PrBodyContext): string {
  const out: string[] = [];
  const blank = (): void => {
    out.push('');
  };

  out.push('## Drift Reconciliation');
  blank();
  out.push(`Finding: ${mdCode(ctx.findingId)}`);
  out.push(`Environment: ${mdText(ctx.environment)}`);
  out.push(`Owner: ${mdText(ctx.owner)}`);
  out.push(`Resource: ${mdCode(ctx.resourceRef)} (${mdCode(ctx.resourceType)}) in unit ${mdCode(ctx.unit)}`);
  blank();

  out.push('### Classification');
  blank();
  out.push(`Class: ${mdCode(ctx.driftClass)} · Risk: **${ctx.risk}** · Action: ${mdCode(ctx.action)}`);
  blank();
  const lead = ctx.summary ?? `${CLASS_TEXT[ctx.driftClass] ?? ctx.driftClass}${ctx.expiry?.incidentId ? ` from ${ctx.expiry.incidentId}` : ''}.`;
  out.push(mdText(lead, { multiline: true }));
  out.push(mdText(ctx.acceptance.reason, { multiline: true }));
  blank();
  out.push(
    `Approved by: ${ctx.acceptance.approvers.length > 0 ? ctx.acceptance.approvers.map((a) => mdText(a)).join(', ') : '_nobody yet_'}`,
  );
  if (ctx.rules.length > 0) {
    blank();
    out.push('Rules that fired:');
    blank();
    for (const r of ctx.rules) out.push(`- ${mdCode(r.ruleId)}: ${mdText(r.why)}`);
  }
  blank();

  out.push('### Detected fields');
  blank();
  if (ctx.fields.length === 0) {
    out.push('_No field-level differences were recorded._');
  } else {
    out.push(mdRow(['Field', 'Change', 'Desired (Git)', 'Actual (runtime)']));
    out.push(mdRow(['---', '---', '---', '---']));
    for (const f of ctx.fields) {
      const secret = isSecretPath(f.path, ctx.resourceType);
      out.push(
        mdRow([mdCode(f.path, { inTable: true }), f.kind, renderValue(f.desired, secret), renderValue(f.actual, secret)]),
      );
    }
  }
  blank();

  out.push('### Audit correlation');
  blank();
  const a = ctx.auditCorrelation;
  if (!a) {
    out.push('No audit event was correlated with this change: treat the actor as unknown.');
  } else {
    out.push(`- Actor: ${mdCode(a.actor.id)} (${mdText(a.actor.type)})`);
    out.push(`- Event: ${a.eventName ? mdCode(a.eventName) : '_unnamed_'} from ${mdText(a.source)}`);
    out.push(`- Time: ${mdText(a.eventTime)}`);
  }
  blank();

  out.push('### Proposed Desired-State Update');
  blank();
  out.push(mdText(ctx.proposedChange.summary, { multiline: true }));
  blank();
  if (ctx.proposedChange.files.length > 0) {
    out.push('Files changed:');
    blank();
    for (const f of ctx.proposedChange.files) out.push(`- ${mdCode(f)}`);
    blank();
  }
  const manual = ctx.proposedChange.manual ?? [];
  if (manual.length > 0) {
    out.push('#### Manual edits required');
    blank();
    out.push('driftplane could not make these edits safely; make them on this branch before merging:');
    blank();
    for (const m of manual) {
      const where = m.file ? ` in ${mdCode(m.file)}` : '';
      out.push(`- [ ] Set ${mdCode(m.attribute)}${where} to ${mdCode(JSON.stringify(m.value) ?? String(m.value))}: ${mdText(m.why)}`);
    }
    blank();
  }
  if (ctx.proposedChange.instructions) {
    out.push(mdFence(ctx.proposedChange.instructions));
    blank();
  }

  out.push('### Policy evaluation');
  blank();
  out.push(`- Auto-heal allowed: ${ctx.policy.autoHealAllowed ? 'yes' : 'no'}`);
  if (ctx.policy.refusals.length > 0) {
    out.push('- Refusals:');
    for (const r of ctx.policy.refusals) out.push(`  - ${mdText(r)}`);
  }
  if (ctx.policy.policyVersion) out.push(`- Policy version: ${mdCode(ctx.policy.policyVersion)}`);
  blank();

  out.push('### Risk and rollback');
  blank();
  out.push(`Risk: **${ctx.risk}**.`);
  blank();
  if ((ctx.riskNotes ?? []).length > 0) {
    for (const n of ctx.riskNotes ?? []) out.push(`- ${mdText(n)}`);
    blank();
  }
  out.push('Rollback plan:');
  blank();
  rollbackPlan(ctx.action, ctx.rollback).forEach((step, i) => out.push(`${i + 1}. ${step}`));
  blank();

  if (ctx.expiry) {
    out.push('### Expiration');
    blank();
    const e = ctx.expiry;
    const tied = e.incidentId ? ` It is tied to ${mdText(e.incidentId)}.` : '';
    const until = e.removeWhen ? ` and must be removed ${mdText(e.removeWhen)}` : ' and must be removed by then';
    out.push(`This change expires on ${mdText(isoDate(e.expiresAt))}${until}.${tied}`);
    blank();
  }

  out.push('### Evidence');
  blank();
  const ev = ctx.evidence;
  const links: [string, string | undefined][] = [
    ['Cloud audit event', ev.auditEvent],
    ['Incident', undefined],
    ['Drift plan', ev.driftPlan],
    ['Evidence', ev.evidenceUri],
    ['Lifecycle (Temporal UI)', ev.temporalUiUrl],
  ];
  let any = false;
  for (const [label, uri] of links) {
    if (label === 'Incident') {
      if (ctx.expiry?.incidentId) {
        out.push(`- Incident: ${mdText(ctx.expiry.incidentId)}`);
        any = true;
      }
      continue;
    }
    if (uri) {
      out.push(`- ${label}: ${mdLink(uri)}`);
      any = true;
    }
  }
  for (const o of ev.other ?? []) {
    out.push(`- ${mdText(o.label)}: ${mdLink(o.uri)}`);
    any = true;
  }
  if (!any) out.push('_No evidence links were recorded._');
  blank();

  out.push('### Reviewers');
  blank();
  if (ctx.reviewers.length === 0) out.push('_No reviewers resolved: the owner must assign one._');
  for (const r of ctx.reviewers) out.push(`- ${mdText(r)}`);

  return `${out.join('\n')}\n`;
}
