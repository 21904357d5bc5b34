import { parseAllDocuments } from 'yaml';
import type { DriftObservation } from '../finding';
import { valueAtPointer } from '../json-diff';
import { jsonEqual } from '../plan/changed-paths';
import { k8sTargetOf } from './k8s-audit';

/**
 * Whether a Git change (a commit, or a merged PR's merge commit) explains a drift: the "matching
 * PR or commit" of domain text §6 (issue 11). Pure: the caller reads the history (git log, the
 * GitHub API) and passes each changed file's text before and after the change.
 *
 * The matching rule:
 * 1. A changed file defines the drifted resource, before or after the change: a Kubernetes
 *    manifest (YAML or JSON, several documents per file) with the observation's kind, name and
 *    namespace (a manifest without a namespace matches any: the GitOps tool sets it), or an
 *    OpenTofu/Terraform file with its `resource "<type>" "<name>"` block. For a manifest, the
 *    change must have changed that object (another object of the same file does not count).
 * 2. Where the drift's changed fields carry values (not redacted, not the whole object) and the
 *    object exists after the change, the change's new value of every such field must equal:
 *    the observed **desired** value when the relationship is `desired!=recorded` (the change is in
 *    Git but not applied yet: the table's `matching-change-not-applied`), else the observed
 *    **actual** value (what runs is what the change says: Git or the detector's desired is
 *    behind, `matching-change` → STALE_DESIRED_STATE). A change whose new value equals the
 *    desired one while the runtime differs is sync lag: it does not explain the runtime change.
 * 3. Without comparable values (whole-object changes, redacted values, HCL), rule 1 alone decides.
 */

/** One file a change touched: its text before (first parent) and after; undefined where it did not exist. */
export interface ChangedFile {
  path: string;
  before?: string;
  after?: string;
}

/** How a change matched a drift. */
export type ChangeMatch = 'actual' | 'desired' | 'defined';

type Doc = Record<string, unknown>;
const isRecord = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The manifests of a YAML or JSON file; a file that does not parse defines nothing. */
function manifests(text: string | undefined): Doc[] {
  if (text === undefined) return [];
  try {
    return parseAllDocuments(text)
      .filter((d) => d.errors.length === 0)
      .map((d) => d.toJS() as unknown)
      .filter(isRecord);
  } catch {
    return [];
  }
}

/** `type.name` of an IaC address (`module.a.aws_security_group.web[0]` → aws_security_group, web). */
function iacResourceOf(ref: string): { type: string; name: string } | undefined {
  const parts = ref.replace(/\[[^\]]*\]/g, '').split('.');
  if (parts.length < 2) return undefined;
  const name = parts[parts.length - 1]!;
  const type = parts[parts.length - 2]!;
  if (parts[parts.length - 3] === 'data' || !/^[a-z][a-z0-9]*_[a-z0-9_]+$/.test(type)) return undefined;
  return { type, name };
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The object a file's text defines for the observation's resource (Kubernetes), or whether it declares it at all (IaC). */
function definitionIn(
  resourceRef: string,
  path: string,
  text: string | undefined,
): { found: boolean; doc?: Doc } {
  if (text === undefined) return { found: false };
  const target = k8sTargetOf(resourceRef);
  if (target) {
    if (!/\.(ya?ml|json)$/i.test(path)) return { found: false };
    const doc = manifests(text).find((m) => {
      const md = isRecord(m.metadata) ? m.metadata : {};
      return (
        m.kind === target.kind &&
        md.name === target.name &&
        (md.namespace === undefined || md.namespace === (target.namespace ?? undefined))
      );
    });
    return doc ? { found: true, doc } : { found: false };
  }
  const iac = iacResourceOf(resourceRef);
  if (!iac) return { found: false };
  if (/\.tf\.json$/i.test(path)) {
    try {
      const doc = JSON.parse(text) as { resource?: Record<string, Record<string, unknown>> };
      return { found: doc.resource?.[iac.type]?.[iac.name] !== undefined };
    } catch {
      return { found: false };
    }
  }
  if (!/\.tf$/i.test(path)) return { found: false };
  return { found: new RegExp(`resource\\s+"${escapeRe(iac.type)}"\\s+"${escapeRe(iac.name)}"`).test(text) };
}

const redacted = (v: unknown) => JSON.stringify(v ?? null).includes('[REDACTED');

/**
 * How the change to `files` matches the drift `o`, or undefined when it does not (see the rule
 * above). `o.diff` supplies the compared values.
 */
export function matchChangeToDrift(
  o: Pick<DriftObservation, 'resourceRef' | 'relationship' | 'diff'>,
  files: readonly ChangedFile[],
): ChangeMatch | undefined {
  for (const f of files) {
    const before = definitionIn(o.resourceRef, f.path, f.before);
    const after = definitionIn(o.resourceRef, f.path, f.after);
    if (!before.found && !after.found) continue;
    // The same object before and after: the change was to something else in the file.
    if (before.doc && after.doc && jsonEqual(before.doc, after.doc)) continue;
    if (!before.doc && !after.doc && f.before === f.after) continue;
    const side = o.relationship === 'desired!=recorded' ? 'desired' : 'actual';
    const comparable = after.doc
      ? o.diff.filter(
          (d) => d.path !== '/' && d.path !== '' && side in d && d[side] !== undefined && !redacted(d[side]),
        )
      : [];
    if (comparable.length === 0) return 'defined';
    if (comparable.every((d) => jsonEqual(valueAtPointer(after.doc, d.path), d[side]))) return side;
  }
  return undefined;
}

/** What a commit is, by its subject and parents: a merged PR (with its number when the subject names one) or a direct commit. */
export function changeKindOf(c: { subject: string; parents: number }): { kind: 'pr' | 'apply'; pr?: number } {
  // `Merge driftplane PR #3: …` (local PRs), `Merge pull request #12 from owner/branch` (GitHub), `Title (#12)` (squash merges).
  const m =
    /^Merge (?:driftplane PR|pull request) #(\d+)\b/.exec(c.subject) ?? /\(#(\d+)\)\s*$/.exec(c.subject);
  if (m) return { kind: 'pr', pr: Number(m[1]) };
  if (c.parents > 1) return { kind: 'pr' };
  return { kind: 'apply' };
}
