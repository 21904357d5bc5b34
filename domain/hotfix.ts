/**
 * Hotfix-reconciliation windows (domain text §13): an incident opens a time-bound window in which
 * the declared break-glass actor may change a unit by hand. Drift by that actor while the window is
 * open is EMERGENCY_DRIFT tied to the incident; every such finding must have a reconciliation path
 * (a back-port PR or a state action) or be explicitly accepted before the window expires. Pure: no
 * I/O, safe in workflow code.
 */
import { z } from 'zod';
import { actorCandidates, normalizeIdentity, resolveActor, type PersonIdentities } from './identity';
import type { Registry } from './registry/model';
import { breakGlassRolesFor, peopleOf, resolveApprovers } from './registry/resolve';
import { DurationSchema } from './registry/schemas';

/** The workflow id of a window: derived, never random. */
export function hotfixWindowId(unit: string, incident: string): string {
  return `hotfix:${unit}:${incident}`;
}

/** Reminders go out at these fractions of each window period (the first, and each extension). */
export const HOTFIX_REMINDERS = [0.5, 0.9] as const;

/** Extensions a window may have unless the unit's policy says otherwise. */
export const DEFAULT_MAX_EXTENSIONS = 1;

const Text = (max: number) => z.string().trim().min(1).max(max);

/** An incident or emergency change record: INC-9127, CHG-12, or any short id without spaces. */
export const IncidentIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'an incident id such as INC-9127');

/** What opens a window (the workflow input). */
export const HotfixWindowInputSchema = z.strictObject({
  unit: Text(200),
  incident: IncidentIdSchema,
  /** How long the window stays open, e.g. `72h`. */
  window: DurationSchema,
  /** The break-glass actor(s) the incident declares: people of the registry or break-glass role ARNs. */
  actors: z.array(Text(300)).min(1).max(10),
  openedBy: Text(300),
  reason: Text(2048),
  /** How many extensions policy allows (default 1). */
  maxExtensions: z.number().int().min(0).max(10).optional(),
  /** A signed statement of the opener (issue 9 part 3), verified where the approval mechanism verifies its own. */
  statement: z.unknown().optional(),
});
/** What opens a window. */
export type HotfixWindowInput = z.infer<typeof HotfixWindowInputSchema>;

/** How an attached finding returns to a governed state. */
export const HotfixResolutionSchema = z.enum(['pr', 'state-action', 'accepted']);
export type HotfixResolution = z.infer<typeof HotfixResolutionSchema>;

/** A finding attached to a window (sent by the lifecycle's classify activity). */
export const AttachFindingSchema = z.strictObject({
  findingId: Text(300),
  resourceRef: Text(1000),
  actor: Text(300),
  driftClass: Text(64),
  risk: Text(16).optional(),
  detectedAt: z.string().max(64),
});
export type AttachFindingInput = z.infer<typeof AttachFindingSchema>;

/** A reconciliation path, or an explicit acceptance, for one attached finding. */
export const ResolveFindingSchema = z
  .strictObject({
    findingId: Text(300),
    resolution: HotfixResolutionSchema,
    /** The back-port PR, the state action's run, or the record of the acceptance. */
    reference: z.string().trim().max(1000).optional(),
    by: Text(300),
    reason: Text(2048),
    statement: z.unknown().optional(),
  })
  .refine((r) => r.resolution === 'accepted' || (r.reference ?? '').length > 0, { message: 'a PR or state action needs a reference', path: ['reference'] });
export type ResolveFindingInput = z.infer<typeof ResolveFindingSchema>;

/** An extension: who approves it, why, and for how long (default: the original window). */
export const ExtendWindowSchema = z.strictObject({ by: Text(300), reason: Text(2048), duration: DurationSchema.optional(), statement: z.unknown().optional() });
export type ExtendWindowInput = z.infer<typeof ExtendWindowSchema>;

/** Closing: who and why. */
export const CloseWindowSchema = z.strictObject({ by: Text(300), reason: Text(2048), statement: z.unknown().optional() });
export type CloseWindowInput = z.infer<typeof CloseWindowSchema>;

/** A refused message: the validator's reason, for the person who sent it. */
export class HotfixRefused extends Error {
  override readonly name = 'HotfixRefused';
}

/** Parses a message with its schema; anything else is a HotfixRefused naming the first problem. */
export function parseHotfixMessage<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const first = r.error.issues[0];
  throw new HotfixRefused(`${what}: ${first ? `${first.path.join('.') || 'input'}: ${first.message}` : 'invalid'}`);
}

const ROLE_ARN = /^arn:[^:]+:(?:iam|sts)::(\d{12}):(?:role|assumed-role)\/(.+)$/i;

/** Account and role name of a role ARN or assumed-role session ARN (role paths ignored). */
function roleOf(arn: string): string | undefined {
  const m = ROLE_ARN.exec(arn.trim());
  if (!m) return undefined;
  const [, account, rest = ''] = m;
  const parts = rest.split('/').filter(Boolean);
  const role = /:assumed-role\//i.test(arn) ? parts[0] : parts[parts.length - 1];
  return role ? `${account}:${role.toLowerCase()}` : undefined;
}

/**
 * True when an audit actor is one of the declared actors: the same name (any spelling the identity
 * rules treat as equal, or an ARN's person part), the same person of the registry, or a session of
 * the same declared break-glass role.
 */
export function isDeclaredActor(actorId: string, declared: readonly string[], people: readonly PersonIdentities[] = []): boolean {
  const seen = new Set(actorCandidates(actorId));
  const person = resolveActor(actorId, people);
  const role = roleOf(actorId);
  return declared.some((d) => {
    if (actorCandidates(d).some((c) => seen.has(c))) return true;
    if (role !== undefined && roleOf(d) === role) return true;
    if (person.resolved) {
      const other = resolveActor(d, people);
      if (other.resolved && other.person === person.person) return true;
    }
    return false;
  });
}

/** Who a unit's window may name, from the registry. */
export interface HotfixParties {
  /** Listed approvers of the unit (e-mails and every other name they act under). */
  approvers: readonly PersonIdentities[];
  /** Members of the unit's owning team. */
  team: readonly PersonIdentities[];
  /** Break-glass role ARNs of the unit and its owning team. */
  breakGlassRoles: readonly string[];
  /** Every person of the registry (to resolve a name to a person). */
  people: readonly PersonIdentities[];
}

const personIn = (name: string, group: readonly PersonIdentities[]): PersonIdentities | undefined => {
  const r = resolveActor(name, group);
  return r.resolved ? group.find((p) => normalizeIdentity(p.email) === r.person) : undefined;
};

/**
 * Checks a declared break-glass actor: a listed approver of the unit, or a break-glass role the
 * unit or its owning team holds. Returns why not, or undefined when the actor may be declared.
 */
export function refuseDeclaredActor(actor: string, parties: HotfixParties): string | undefined {
  if (personIn(actor, parties.approvers)) return undefined;
  const role = roleOf(actor);
  if (role !== undefined && parties.breakGlassRoles.some((r) => roleOf(r) === role)) return undefined;
  return `${actor} is neither a listed approver of the unit nor a break-glass role of its owning team`;
}

/** The person behind a name, when that person is an approver of the unit or a member of its owning team. */
export function teamPerson(name: string, parties: HotfixParties): string | undefined {
  const p = personIn(name, parties.approvers) ?? personIn(name, parties.team);
  return p ? normalizeIdentity(p.email) : undefined;
}

/** The person behind a name when that person is a listed approver of the unit. */
export function approverPerson(name: string, approvers: readonly PersonIdentities[]): string | undefined {
  const p = personIn(name, approvers);
  return p ? normalizeIdentity(p.email) : undefined;
}

/** Who a unit's hotfix window may name, from the registry: its listed approvers, its owning team, its break-glass roles. */
export function hotfixPartiesOf(registry: Registry, unitName: string): HotfixParties {
  const people = peopleOf(registry);
  const byEmail = new Map(people.map((p) => [normalizeIdentity(p.email), p]));
  const approvers = resolveApprovers(registry, unitName)
    .map((a) => byEmail.get(normalizeIdentity(a.email)))
    .filter((p) => p !== undefined);
  const owner = registry.units.get(unitName)?.spec.owner;
  const team = (owner ? (registry.teams.get(owner)?.spec.members ?? []) : []).map((m) => byEmail.get(normalizeIdentity(m.email))).filter((p) => p !== undefined);
  return { approvers, team, breakGlassRoles: breakGlassRolesFor(registry, unitName), people };
}

/**
 * Checks who opens a window and whom it declares, against the registry: the unit exists, every
 * declared actor may be declared ({@link refuseDeclaredActor}), and the opener is an approver of the
 * unit or a member of its owning team. Returns every problem (empty: all good).
 */
export function checkHotfixOpening(registry: Registry, w: Pick<HotfixWindowInput, 'unit' | 'actors' | 'openedBy'>): string[] {
  const unit = registry.units.get(w.unit);
  if (!unit) return [`unit ${w.unit} is not in the registry`];
  const parties = hotfixPartiesOf(registry, w.unit);
  const problems = w.actors.map((a) => refuseDeclaredActor(a, parties)).filter((x): x is string => x !== undefined);
  if (!teamPerson(w.openedBy, parties)) problems.push(`${w.openedBy} may not open a window on ${w.unit}: not an approver of the unit nor a member of team ${unit.spec.owner}`);
  return problems;
}

const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * The visibility query of hotfix windows: by unit, incident and window state (the search attributes
 * Unit, HotfixIncident and WindowState of workflows/search-attributes.ts), and running only.
 */
export function hotfixWindowsQuery(f: { unit?: string; incident?: string; state?: string; running?: boolean } = {}): string {
  const parts = [`WorkflowType = 'hotfixWindow'`];
  if (f.unit) parts.push(`Unit = ${quote(f.unit)}`);
  if (f.incident) parts.push(`HotfixIncident = ${quote(f.incident)}`);
  if (f.state) parts.push(`WindowState = ${quote(f.state)}`);
  if (f.running) parts.push(`ExecutionStatus = 'Running'`);
  return parts.join(' AND ');
}
