/**
 * The IGNORE action (§12 Ignore/suppress, §14): a `DriftException` registry document, proposed in a
 * PR, that declares some fields of one resource outside Git ownership for a bounded time. Ignore
 * rules are a risk surface, so the document goes through the registry's own checks before anyone
 * reviews it: the schema, the references (unit, owner, approver) and the §14.1 lint
 * (`lintIgnoreRules`), exactly as `driftplane registry check` would run them.
 *
 * Pure: the approval time is passed in, and the registry is passed as data.
 */
import { Document, parseAllDocuments } from 'yaml';
import { fnv1a64 } from '../fingerprint';
import { checkDocuments, type RawDocument } from '../registry/check-registry';
import { dayMs } from '../registry/durations';
import { maxExceptionDays } from '../registry/lint-ignore-rules';
import { documentKey, type Registry, type PendingIssue } from '../registry/model';
import { registryApiVersion, type DriftException } from '../registry/schemas';

/** What the exception covers and why; built from the finding and its approval. */
export interface ExceptionInput {
  /** `<unit>:<fingerprint>`; the document's name is derived from it. */
  findingId: string;
  unit: string;
  /** The owning team (`metadata.name` of a Team). */
  owner: string;
  /** Narrows the scope beyond the unit: Kubernetes kind/name/namespace/group, or an OpenTofu resource address. */
  resource: { kind?: string; name?: string; namespace?: string; group?: string; resourceAddress?: string };
  /** JSON pointers of the ignored fields. */
  paths: readonly string[];
  reason: string;
  /** The approver's e-mail address. */
  approvedBy: string;
  approvedAt: Date;
  /** Days until the exception stops applying: 1 to 90 (§14.1 "Does the rule expire?"). */
  expiresInDays: number;
  /** Change or incident record, e.g. `INC-9127`. */
  ticket?: string;
  /** Another detector covering the fields, required by the lint when a path is sensitive. */
  compensatingDetector?: string;
}

/** An exception could not be built from the input (e.g. an expiry over 90 days). */
export class ExceptionInputError extends Error {
  override readonly name = 'ExceptionInputError';
  constructor(
    readonly findingId: string,
    message: string,
  ) {
    super(`exception for finding ${findingId}: ${message}`);
  }
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * The exception's `metadata.name`, derived from the finding: `<unit>-<fingerprint>` (the unit
 * shortened so the name stays a 63-character DNS label). The same finding always gets the same
 * name, so a second IGNORE of it finds (and conflicts with) the first instead of duplicating it.
 */
export function exceptionNameOf(findingId: string): string {
  const at = findingId.indexOf(':');
  const unit = at > 0 ? findingId.slice(0, at) : 'finding';
  const fp = at > 0 ? findingId.slice(at + 1) : '';
  const suffix = /^[0-9a-f]{16}$/.test(fp) ? fp : fnv1a64(findingId);
  const head = slug(unit).slice(0, 63 - 1 - suffix.length).replace(/-$/, '') || 'finding';
  return `${head}-${suffix}`;
}

/** An instant as the registry writes it: ISO date-time in UTC, no milliseconds. */
function instant(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The `DriftException` document for an IGNORE decision, as YAML, and its file name relative to the
 * registry folder (`exceptions/<name>.yaml`). Throws `ExceptionInputError` when `expiresInDays` is
 * not a whole number from 1 to 90, no path is given, or `approvedAt` is not a valid date.
 */
export function exceptionDocument(input: ExceptionInput): { fileName: string; text: string } {
  const days = input.expiresInDays;
  if (!Number.isInteger(days) || days < 1 || days > maxExceptionDays)
    throw new ExceptionInputError(input.findingId, `expiresInDays must be a whole number from 1 to ${maxExceptionDays}, got ${days}`);
  if (input.paths.length === 0) throw new ExceptionInputError(input.findingId, 'at least one path is needed');
  if (Number.isNaN(input.approvedAt.getTime())) throw new ExceptionInputError(input.findingId, 'approvedAt is not a valid date');
  const name = exceptionNameOf(input.findingId);
  const r = input.resource;
  const scope: Record<string, string> = { unit: input.unit };
  // Scope keys in the order the registry examples use.
  if (r.group !== undefined) scope.group = r.group;
  if (r.kind !== undefined) scope.kind = r.kind;
  if (r.namespace !== undefined) scope.namespace = r.namespace;
  if (r.name !== undefined) scope.name = r.name;
  if (r.resourceAddress !== undefined) scope.resourceAddress = r.resourceAddress;
  const spec: Record<string, unknown> = {
    scope,
    paths: [...input.paths],
    reason: input.reason,
    owner: input.owner,
    approvedBy: input.approvedBy,
    approvedAt: instant(input.approvedAt),
    expiresAt: instant(new Date(input.approvedAt.getTime() + days * dayMs)),
  };
  if (input.compensatingDetector !== undefined) spec.compensatingDetector = input.compensatingDetector;
  if (input.ticket !== undefined) spec.ticket = input.ticket;
  const value = {
    apiVersion: registryApiVersion,
    kind: 'DriftException',
    metadata: { name, labels: { 'driftplane.io/finding': slug(input.findingId.replace(':', '-')).slice(0, 63) } },
    spec,
  } satisfies Record<keyof DriftException, unknown>;
  const doc = new Document(value);
  doc.commentBefore =
    ` Generated by driftplane for finding ${input.findingId} (IGNORE, domain text §14).\n` +
    ' An exception expires at most 90 days after approval; renewing it is a new approval.';
  return { fileName: `exceptions/${name}.yaml`, text: doc.toString({ lineWidth: 0 }) };
}

/** A registry file as text. */
export interface RegistryFile {
  path: string;
  text: string;
}

function rawFromRegistry(registry: Registry): RawDocument[] {
  const maps = [
    registry.teams,
    registry.units,
    registry.ownershipRules,
    registry.autoHealPolicies,
    registry.routingPolicies,
    registry.budgets,
    registry.exceptions,
    registry.redactionPolicies,
  ] as const;
  const raw: RawDocument[] = [];
  for (const m of maps)
    for (const [name, doc] of m as Map<string, { kind: string }>)
      raw.push({
        value: doc,
        source: registry.sources.get(documentKey(doc.kind, name)) ?? { file: '<registry>', index: raw.length },
      });
  return raw;
}

function rawFromFiles(files: readonly RegistryFile[]): RawDocument[] {
  const raw: RawDocument[] = [];
  for (const f of files) {
    const docs = parseAllDocuments(f.text);
    if (!Array.isArray(docs)) continue;
    docs.forEach((d, index) => {
      if (d.errors.length > 0 || d.contents === null) return;
      try {
        raw.push({ value: d.toJS({ maxAliasCount: 100 }) as unknown, source: { file: f.path, index } });
      } catch {
        // A document the loader would reject; its own file's problems are not this exception's.
      }
    });
  }
  return raw;
}

function format(p: PendingIssue): string {
  return `${p.severity} ${p.rule}${p.field ? ` at ${p.field}` : ''}: ${p.message}`;
}

/**
 * Runs the registry's checks (`checkDocuments`: schema, unique names, references, and the §14 /
 * §14.1 ignore-rule lint with the exception clock `now`) over `registry` plus the new exception,
 * and returns the problems of the new exception as `"<severity> <rule> at <field>: <message>"`
 * strings, errors first. Empty: the exception is clean. `registry` is a loaded registry or its files
 * as text; problems of other documents are not reported here.
 */
export function lintExceptionAgainst(
  registry: Registry | readonly RegistryFile[],
  exception: { fileName: string; text: string },
  opts: { now: Date },
): string[] {
  const base = Array.isArray(registry) ? rawFromFiles(registry as readonly RegistryFile[]) : rawFromRegistry(registry as Registry);
  // A registry file at the exception's own path is the previous version of this file: the new text replaces it.
  const raw = base.filter((r) => r.source.file !== exception.fileName);
  const docs = parseAllDocuments(exception.text);
  const problems: string[] = [];
  if (!Array.isArray(docs) || docs.length === 0) return ['error yaml-syntax: the exception file holds no document'];
  docs.forEach((d, index) => {
    if (d.errors.length > 0) {
      problems.push(`error yaml-syntax: ${(d.errors[0]?.message ?? '').split('\n')[0]}`);
      return;
    }
    raw.push({ value: d.toJS({ maxAliasCount: 100 }) as unknown, source: { file: exception.fileName, index } });
  });
  const dedup = raw;
  const { issues } = checkDocuments(dedup, { now: opts.now });
  const own = issues.filter((i) => i.source.file === exception.fileName);
  own.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  return [...problems, ...own.map(format)];
}
