/**
 * The change a reconciliation PR makes to desired state, built from the finding and the files on
 * the target branch: a structural manifest edit (comments and layout kept), an HCL literal edit,
 * an `import` or `moved` block, or a migration skeleton. What cannot be done exactly is never
 * guessed: it becomes a manual edit the PR body states, with why.
 */
import { ApplicationFailure } from '@temporalio/common';
import { parseAllDocuments } from 'yaml';
import type { DriftObservation, FieldChange } from '../../domain/finding';
import { parsePointer } from '../../domain/json-pointer';
import { isRedactionToken } from '../../domain/redaction';
import { appendBlocks, importBlock, importCommandHint, movedBlock, RESOURCE_ADDRESS, setHclLiteral, type HclParser } from '../../domain/reconcile/hcl';
import { editManifest, findManifestFile, type ManifestChange, type ManifestTarget } from '../../domain/reconcile/manifest-edit';
import type { ManualEdit, PrBodyContext } from '../../domain/reconcile/pr-body';
import type { FileChange } from './pr-provider';
import type { RepoTarget } from './repos';

/** What the desired-state edits need from outside: the HCL parser (`@cdktf/hcl2json`). */
export interface DesiredStateEditors {
  hclParse: HclParser;
  /** The desired object of a manifest resource, read from the unit's folder on the base branch. */
  desiredObject(target: RepoTarget, o: DriftObservation): Promise<Record<string, unknown>>;
}

/** The PR's content. */
export interface DesiredStateChange {
  title: string;
  files: FileChange[];
  summary: string;
  manual?: ManualEdit[];
  instructions?: string;
  rollback?: PrBodyContext['rollback'];
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;
/** Fields the runtime owns: never written into Git. */
const RUNTIME_OWNED = ['/status', '/metadata/managedFields', '/metadata/resourceVersion', '/metadata/generation', '/metadata/uid', '/metadata/creationTimestamp'];
const runtimeOwned = (p: string) => RUNTIME_OWNED.some((r) => p === r || p.startsWith(`${r}/`));

const permanent = (type: string, message: string) => ApplicationFailure.nonRetryable(message, type);

/** True when a value (at any depth) holds a redaction token: such a value can never be written into Git. */
function holdsRedaction(v: unknown): boolean {
  if (typeof v === 'string') return isRedactionToken(v) || v.includes('[REDACTED');
  if (Array.isArray(v)) return v.some(holdsRedaction);
  if (v && typeof v === 'object') return Object.values(v).some(holdsRedaction);
  return false;
}

/** `Kind/namespace/name` → a manifest target. */
function manifestTargetOf(o: DriftObservation): ManifestTarget {
  const parts = o.resourceRef.split('/');
  if (parts.length === 3) return { kind: parts[0]!, namespace: parts[1]!, name: parts[2]! };
  if (parts.length === 2) return { kind: parts[0]!, name: parts[1]! };
  throw permanent('InvalidInput', `${o.resourceRef} is not a manifest reference (Kind/namespace/name)`);
}

async function readFolder(target: RepoTarget, filter: RegExp): Promise<{ path: string; text: string }[]> {
  const out: { path: string; text: string }[] = [];
  for (const p of (await target.provider.listFiles(target.repo, target.base, target.dir)).filter((x) => filter.test(x)).sort()) {
    const text = await target.provider.readFile(target.repo, target.base, p);
    if (text !== undefined) out.push({ path: p, text });
  }
  return out;
}

const inDir = (target: RepoTarget, name: string) => (target.dir ? `${target.dir}/${name}` : name);

/** The manifest file and document holding the observed resource; a named permanent error when none or several do. */
async function manifestFileOf(target: RepoTarget, o: DriftObservation): Promise<{ path: string; text: string; target: ManifestTarget }> {
  const t = manifestTargetOf(o);
  const files = await readFolder(target, MANIFEST_FILE);
  let found: string | undefined;
  try {
    found = findManifestFile(files, t);
  } catch (err) {
    throw permanent('DesiredFileAmbiguous', (err as Error).message);
  }
  if (!found) throw permanent('DesiredFileNotFound', `no manifest in ${target.repo}:${target.dir || '/'}@${target.base} declares ${o.resourceRef}`);
  return { path: found, text: files.find((f) => f.path === found)!.text, target: t };
}

/** Reads the desired object of a manifest resource (for a server-side apply revert). */
export async function readDesiredObject(target: RepoTarget, o: DriftObservation): Promise<Record<string, unknown>> {
  const f = await manifestFileOf(target, o);
  const values = /\.json$/i.test(f.path) ? [JSON.parse(f.text) as unknown].flat() : parseAllDocuments(f.text).map((d) => (Array.isArray(d) ? undefined : d.toJS()) as unknown);
  const doc = values.find((v) => {
    const m = v as { kind?: string; metadata?: { name?: string; namespace?: string } } | undefined;
    return m?.kind === f.target.kind && m.metadata?.name === f.target.name && (f.target.namespace === undefined || (m.metadata?.namespace ?? 'default') === f.target.namespace || m.metadata?.namespace === undefined);
  });
  if (!doc || typeof doc !== 'object') throw permanent('DesiredFileNotFound', `${f.path} does not hold ${o.resourceRef} as an object`);
  return doc as Record<string, unknown>;
}

/** Accepting the runtime into Git for manifests: each changed field set to its live value (runtime-owned fields skipped). */
async function acceptManifest(target: RepoTarget, o: DriftObservation): Promise<DesiredStateChange> {
  const f = await manifestFileOf(target, o);
  const changes: ManifestChange[] = [];
  const manual: ManualEdit[] = [];
  for (const d of o.diff) {
    if (runtimeOwned(d.path)) continue;
    if (holdsRedaction(d.actual)) {
      manual.push({ attribute: d.path, value: '(the live value, which is secret)', why: 'the live value is redacted; driftplane never writes secret values into Git', file: f.path });
      continue;
    }
    changes.push(d.kind === 'removed' ? { path: d.path, remove: true } : { path: d.path, value: d.actual });
  }
  const files: FileChange[] = [];
  if (changes.length > 0) {
    let edited;
    try {
      edited = editManifest(f.text, f.path, f.target, changes);
    } catch (err) {
      throw permanent('ManifestEditFailed', (err as Error).message);
    }
    if (edited.changed) files.push({ path: f.path, content: edited.text });
  }
  return withManualNote(target, o, {
    title: `driftplane: accept live ${o.changedFields.join(', ')} of ${o.resourceRef} into Git`,
    files,
    summary: `Updates ${f.path} so that ${o.resourceRef} declares its live values for ${changes.map((c) => c.path).join(', ') || 'no field'}; comments and the layout of the file are kept.`,
    ...(manual.length ? { manual } : {}),
  });
}

/** The last segment of a pointer when it is a top-level attribute (`/instance_type`), else undefined. */
function topLevelAttribute(path: string): string | undefined {
  try {
    const steps = parsePointer(path);
    return steps.length === 1 && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(steps[0]!) ? steps[0] : undefined;
  } catch {
    return undefined;
  }
}

/** Accepting the runtime into Git for OpenTofu: literal attributes edited in place, everything else stated as a manual edit. */
async function acceptHcl(editors: DesiredStateEditors, target: RepoTarget, o: DriftObservation): Promise<DesiredStateChange> {
  const files = await readFolder(target, /\.tf$/);
  const edited = new Map<string, string>();
  const manual: ManualEdit[] = [];
  const address = o.resourceRef.replace(/^module\.[^.]+\./, '');
  const changed: string[] = [];
  for (const d of o.diff as FieldChange[]) {
    const attribute = topLevelAttribute(d.path);
    const value = d.actual;
    if (holdsRedaction(value)) {
      manual.push({ attribute: `${o.resourceRef}${d.path}`, value: '(the live value, which is secret)', why: 'the live value is redacted; driftplane never writes secret values into Git' });
      continue;
    }
    if (!attribute || !(typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) {
      manual.push({ attribute: `${o.resourceRef}${d.path}`, value, why: attribute ? 'the live value is not a literal (a list or an object): edit the block by hand' : 'the field is not a top-level attribute of the resource block' });
      continue;
    }
    let reason = `no .tf file in ${target.dir || '/'} declares resource ${address}`;
    let done = false;
    for (const f of files) {
      const r = await setHclLiteral(edited.get(f.path) ?? f.text, { address, attribute, value, fileName: f.path }, editors.hclParse);
      if (r.ok) {
        edited.set(f.path, r.text);
        changed.push(d.path);
        done = true;
        break;
      }
      if (!/no resource|not declare|not found/i.test(r.reason)) reason = r.reason;
    }
    if (!done) manual.push({ attribute: `${address}.${attribute}`, value, why: reason });
  }
  return withManualNote(target, o, {
    title: `driftplane: accept live ${o.changedFields.join(', ')} of ${o.resourceRef} into Git`,
    files: [...edited].map(([path, content]) => ({ path, content })),
    summary: changed.length
      ? `Sets ${changed.map((p) => `${address}.${p.slice(1)}`).join(', ')} to the live value in place (literal attributes only).`
      : `No attribute could be edited automatically; the manual edits below say exactly what must change.`,
    ...(manual.length ? { manual } : {}),
  });
}

/**
 * A PR must change at least one file. When every edit is manual, the PR carries a short note file
 * listing them (the reviewer replaces it with the real edit); the body says so.
 */
function withManualNote(target: RepoTarget, o: DriftObservation, change: DesiredStateChange): DesiredStateChange {
  if (change.files.length > 0 || !change.manual?.length) return change;
  const fp = o.resourceRef.replace(/[^A-Za-z0-9_.-]+/g, '-');
  const lines = ['# Manual edits for a driftplane reconciliation', '', `Resource: ${o.resourceRef} (unit ${o.unit})`, '', ...change.manual.map((m) => `- ${m.attribute} must become ${JSON.stringify(m.value)}: ${m.why}`), '', 'Make these edits in this branch and delete this file before merging.', ''];
  return { ...change, files: [{ path: inDir(target, `.driftplane/manual-${fp}.md`), content: lines.join('\n') }] };
}

/** Builds the PR content for a Git-changing action. */
export async function desiredStateChange(
  editors: DesiredStateEditors,
  target: RepoTarget,
  input: {
    action: string;
    observation: DriftObservation;
    unitType: string;
    findingId: string;
    now: Date;
    migrationsPath: string;
    driftClass: string;
    migrationSkeleton(input: { findingId: string; unit: string; resourceRef: string; changedFields: FieldChange[]; driftClass: string; now: Date; migrationsPath: string; database: boolean }): { path: string; content: string };
  },
): Promise<DesiredStateChange> {
  const o = input.observation;
  const stack = ['opentofu-stack', 'terraform-stack', 'terragrunt-stack'].includes(input.unitType);
  switch (input.action) {
    case 'OPEN_RECONCILIATION_PR':
      return stack ? acceptHcl(editors, target, o) : acceptManifest(target, o);

    case 'IMPORT': {
      const id = o.diff.find((d) => d.path === '/id')?.actual ?? o.diff.find((d) => d.path === '/id')?.desired;
      if (typeof id !== 'string' || id === '') throw permanent('MissingImportId', `IMPORT of ${o.resourceRef} needs the resource id the inventory scan found (/id); the observation has none`);
      const to = RESOURCE_ADDRESS.test(o.resourceRef) ? o.resourceRef : `${o.resourceType}.${id.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^(\d)/, '_$1')}`;
      const file = inDir(target, 'driftplane_imports.tf');
      const existing = (await target.provider.readFile(target.repo, target.base, file)) ?? '';
      return {
        title: `driftplane: import ${id} as ${to}`,
        files: [{ path: file, content: appendBlocks(existing, [importBlock({ to, id })]) }],
        summary: `Adds an import block bringing the unmanaged ${o.resourceType} ${id} under ${to}. Generate its configuration before merging (below).`,
        instructions: importCommandHint(target.dir || '.'),
        rollback: { importAddress: to, dir: target.dir || '.' },
      };
    }

    case 'STATE_MOVE': {
      const move = o.diff.find((d) => d.path === '/address');
      const from = typeof move?.desired === 'string' ? move.desired : undefined;
      const to = typeof move?.actual === 'string' ? move.actual : undefined;
      if (!from || !to) throw permanent('MissingMoveAddresses', `STATE_MOVE of ${o.resourceRef} needs the old and new addresses (/address desired → actual); the observation has none`);
      const file = inDir(target, 'driftplane_moved.tf');
      const existing = (await target.provider.readFile(target.repo, target.base, file)) ?? '';
      return {
        title: `driftplane: move ${from} to ${to}`,
        files: [{ path: file, content: appendBlocks(existing, [movedBlock({ from, to })]) }],
        summary: `Adds a moved block so state follows the refactor from ${from} to ${to} without destroying anything.`,
        rollback: { moved: { from, to }, dir: target.dir || '.' },
      };
    }

    case 'MIGRATION_PLAN': {
      const skeleton = input.migrationSkeleton({
        findingId: input.findingId,
        unit: o.unit,
        resourceRef: o.resourceRef,
        changedFields: o.diff,
        driftClass: input.driftClass,
        now: input.now,
        migrationsPath: inDir(target, input.migrationsPath),
        database: input.unitType === 'database',
      });
      return {
        title: `driftplane: migration plan for ${o.resourceRef}`,
        files: [{ path: skeleton.path, content: skeleton.content }],
        summary: `Adds a migration skeleton at ${skeleton.path}. driftplane never applies it (§18): the owner completes and runs it through the normal release path.`,
      };
    }

    default:
      throw permanent('NoExecutor', `no desired-state change for action ${input.action}`);
  }
}
