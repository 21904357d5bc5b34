import { appendFile, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { diffJson, valueAtPointer } from '../../domain/json-diff';
import { k8sAuditCorrelation, k8sTargetOf, matchK8sAuditEvents, parseK8sAuditEvent, type K8sActorConfig, type K8sAuditChange } from '../../domain/audit/k8s-audit';
import { manifestRef, type Actor, type DetectionCoverage, type DriftObservation, type FieldChange } from '../../domain/finding';
import { keylessRedactor, type Redactor } from '../../domain/redaction';

/** A manifest as it sits in a plane: Kubernetes-shaped, identified by kind/namespace/name. */
interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/**
 * One line of a unit's audit log in the demo's first, hand-written shape (kept so older sandboxes and
 * tests still read). New lines are `audit.k8s.io/v1` Events; a line that is an Event and also carries
 * an `actor` object (`{ id, type }`) takes its actor, and `eventTime`/`eventName`/`source` when set,
 * from those fields instead.
 */
export interface AuditLine {
  resourceRef: string;
  actor: Actor;
  eventTime: string;
  eventName: string;
  source: string;
}

/** What one detection of a unit found. "failed" is never "no drift". */
export type LocalDetection =
  | {
      status: 'ok';
      unit: string;
      observations: DriftObservation[];
      resources: number;
      /** What the detection could see; absent when it saw every resource type of the unit. */
      coverage?: DetectionCoverage;
      /** Set when one of several detectors of the unit failed: the others' drift is reported, and a stale observation says what failed. */
      partialFailure?: string;
    }
  | { status: 'failed'; unit: string; error: string };

/** What a unit's audit log holds: legacy lines, and audit events with an optional hand-set actor. */
interface UnitAudit {
  legacy: AuditLine[];
  events: K8sAuditChange[];
  overrides: Map<K8sAuditChange, Partial<AuditLine>>;
}

/** Options of the local planes. */
export interface LocalPlanesOptions {
  /**
   * Who the identities in the units' audit logs are (CI accounts, operators, break-glass roles and
   * users), per unit: the worker passes the registry's break-glass roles of the unit and its team.
   */
  auditActors?: K8sActorConfig | ((unit: string) => K8sActorConfig | Promise<K8sActorConfig>);
}

/** Fields the runtime owns: never drift by themselves. */
const RUNTIME_OWNED = ['/status', '/metadata/managedFields', '/metadata/resourceVersion', '/metadata/generation', '/metadata/uid', '/metadata/creationTimestamp'];
const runtimeOwned = (p: string) => RUNTIME_OWNED.some((r) => p === r || p.startsWith(`${r}/`));


/**
 * A detector and executor for units whose desired and actual state are manifests in local folders:
 * `<root>/<unit>/desired/*.json` (what Git renders), `<root>/<unit>/actual/*.json` (what runs) and
 * `<root>/<unit>/audit.jsonl` (who changed what: Kubernetes `audit.k8s.io/v1` Events, one per line, as
 * the API server's log backend writes them). The demo's sandbox uses it; so can rendered
 * manifest snapshots. Reverts are recorded in `<root>/<unit>/ledger.jsonl`, once per key.
 */
export class LocalPlanes {
  /**
   * @param redactor replaces every secret before an observation leaves the detector (the worker
   *   passes the installation's keyed redactor; without one, secrets become `[REDACTED]`).
   */
  constructor(
    readonly root: string,
    private readonly redactor: Redactor = keylessRedactor,
    private readonly options: LocalPlanesOptions = {},
  ) {}

  /**
   * Where the unit's desired plane lives in Git, when the planes folder is a Git repository (the
   * demo makes it one): reconciliation PRs change `<unit>/desired/` there. Undefined otherwise.
   */
  async desiredRepo(unit: string): Promise<{ repo: string; dir: string; base: string } | undefined> {
    if (!(await this.has(unit))) return undefined;
    const git = await readFile(path.join(this.root, '.git', 'HEAD'), 'utf8').catch(() => undefined);
    if (git === undefined) return undefined;
    const base = /^ref: refs\/heads\/(.+)$/m.exec(git)?.[1]?.trim() ?? 'main';
    return { repo: this.root, dir: `${unit}/desired`, base };
  }

  /** True when this detector knows the unit (it has a folder). */
  async has(unit: string): Promise<boolean> {
    return readdir(path.join(this.root, unit, 'desired')).then(
      () => true,
      () => false,
    );
  }

  /**
   * Where each resource was found at the last full read of a plane folder (folder → ref → file), so
   * verification and revert read one file instead of the whole unit. Only a hint: the file is read
   * and must still hold the resource, else the whole folder is read again.
   */
  private readonly fileOf = new Map<string, Map<string, string>>();

  private async readPlane(unit: string, plane: 'desired' | 'actual'): Promise<Map<string, { file: string; doc: Manifest }>> {
    const dir = path.join(this.root, unit, plane);
    const out = new Map<string, { file: string; doc: Manifest }>();
    // Desired manifests may be YAML as Git keeps them (several documents per file); the runtime's are JSON.
    for (const name of (await readdir(dir)).filter((n) => /\.json$/.test(n) || (plane === 'desired' && /\.ya?ml$/.test(n))).sort()) {
      const file = path.join(dir, name);
      for (const doc of await this.readManifests(file)) out.set(manifestRef(doc), { file, doc });
    }
    this.fileOf.set(dir, new Map([...out].map(([ref, { file }]) => [ref, file])));
    return out;
  }

  /**
   * One resource of a plane: from the file it was last seen in when that file still holds it, else
   * from a full read of the folder (a resource the hint does not know is never taken as absent).
   */
  private async readResource(unit: string, plane: 'desired' | 'actual', ref: string): Promise<{ file: string; doc: Manifest } | undefined> {
    const file = this.fileOf.get(path.join(this.root, unit, plane))?.get(ref);
    if (file) {
      const docs = await this.readManifests(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [];
        throw err;
      });
      const doc = docs.find((d) => manifestRef(d) === ref);
      if (doc) return { file, doc };
    }
    return (await this.readPlane(unit, plane)).get(ref);
  }

  /** The manifests of one plane file: JSON (one) or YAML (several documents). */
  private async readManifests(file: string): Promise<Manifest[]> {
    const text = await readFile(file, 'utf8');
    let docs: Manifest[];
    if (file.endsWith('.json')) {
      try {
        docs = [JSON.parse(text) as Manifest];
      } catch (err) {
        // V8 quotes the start of the text in its message; a manifest's text is not for error messages.
        throw new Error(`${file}: not valid JSON: ${(err as Error).message.replace(/"[\s\S]*" is not valid JSON/, 'not valid JSON')}`);
      }
    } else {
      const parsed = parseAllDocuments(text);
      const list = Array.isArray(parsed) ? parsed : [];
      const bad = list.find((d) => d.errors.length > 0);
      if (bad) throw new Error(`${file}: line ${bad.errors[0]!.linePos?.[0].line ?? '?'}: not valid YAML (${bad.errors[0]!.code})`);
      docs = list.map((d) => d.toJS() as Manifest).filter((d) => d !== null && d !== undefined);
    }
    for (const doc of docs) {
      if (typeof doc?.kind !== 'string' || typeof doc?.metadata?.name !== 'string') {
        throw new Error(`${file}: field /kind or /metadata/name: expected a Kubernetes-shaped manifest`);
      }
    }
    return docs;
  }

  private async readAudit(unit: string): Promise<UnitAudit> {
    const file = path.join(this.root, unit, 'audit.jsonl');
    const text = await readFile(file, 'utf8').catch(() => '');
    const out: UnitAudit = { legacy: [], events: [], overrides: new Map() };
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`${file} line ${i + 1}: not valid JSON`);
      }
      const actor = doc.actor as Partial<Actor> | undefined;
      const handSet = typeof actor === 'object' && actor !== null && typeof actor.id === 'string' && typeof actor.type === 'string';
      if (handSet && typeof doc.resourceRef === 'string') {
        out.legacy.push(doc as unknown as AuditLine);
        return;
      }
      const event = parseK8sAuditEvent(doc, file, `line ${i + 1}`);
      out.events.push(event);
      if (handSet) {
        const { eventTime, eventName, source } = doc as Partial<AuditLine>;
        out.overrides.set(event, { actor: actor as Actor, ...(eventTime ? { eventTime } : {}), ...(eventName ? { eventName } : {}), ...(source ? { source } : {}) });
      }
    });
    return out;
  }

  /** The actor of the latest change of `ref` the unit's audit log records at or before `detectedAt`. */
  private correlate(audit: UnitAudit, ref: string, detectedAt: string, actors: K8sActorConfig): DriftObservation['auditCorrelation'] {
    const candidates: NonNullable<DriftObservation['auditCorrelation']>[] = audit.legacy
      .filter((e) => e.resourceRef === ref)
      .map((e) => ({ actor: e.actor, source: e.source, eventTime: e.eventTime, eventName: e.eventName }));
    const target = k8sTargetOf(ref);
    for (const event of target ? matchK8sAuditEvents(target, audit.events, detectedAt) : []) {
      const c = k8sAuditCorrelation(event, actors);
      candidates.push({ ...c, ...audit.overrides.get(event) });
    }
    return candidates.sort((x, y) => Date.parse(x.eventTime) - Date.parse(y.eventTime)).pop();
  }

  /** Compares desired with actual for every resource of a unit. A read error is a failed detection. */
  async detect(unit: string, now: Date): Promise<LocalDetection> {
    try {
      const [desired, actual, audit] = await Promise.all([this.readPlane(unit, 'desired'), this.readPlane(unit, 'actual'), this.readAudit(unit)]);
      const actors = typeof this.options.auditActors === 'function' ? await this.options.auditActors(unit) : (this.options.auditActors ?? {});
      const observations: DriftObservation[] = [];
      const refs = [...new Set([...desired.keys(), ...actual.keys()])].sort();
      for (const ref of refs) {
        const o = this.observe(unit, ref, desired.get(ref)?.doc, actual.get(ref)?.doc, now, () => this.correlate(audit, ref, now.toISOString(), actors));
        if (o) observations.push(o);
      }
      return { status: 'ok', unit, observations, resources: refs.length };
    } catch (err) {
      // A parse error quotes the file it could not read: the message is redacted like a value.
      return { status: 'failed', unit, error: this.redactor.text((err as Error).message) };
    }
  }

  /**
   * Detects one resource of a unit again (verification): its desired and actual manifests only,
   * read from the files they were last seen in, not the whole unit. The observation, if it still
   * differs, carries no audit correlation: verification asks only whether it differs.
   */
  async detectResource(unit: string, ref: string, now: Date): Promise<LocalDetection> {
    try {
      const [d, a] = await Promise.all([this.readResource(unit, 'desired', ref), this.readResource(unit, 'actual', ref)]);
      if (!d && !a) return { status: 'ok', unit, observations: [], resources: 0 };
      const o = this.observe(unit, ref, d?.doc, a?.doc, now, () => undefined);
      return { status: 'ok', unit, observations: o ? [o] : [], resources: 1 };
    } catch (err) {
      return { status: 'failed', unit, error: this.redactor.text((err as Error).message) };
    }
  }

  /** The drift of one resource (desired `d`, actual `a`), or undefined when they agree. */
  private observe(unit: string, ref: string, d: Manifest | undefined, a: Manifest | undefined, now: Date, correlate: () => DriftObservation['auditCorrelation']): DriftObservation | undefined {
    // Both manifests are redacted whole before they are compared, so a secret's siblings
    // (an env entry's name, the flag before an argument) count, and a changed secret still
    // differs: equal values get equal fingerprints.
    const resourceType = (d ?? a)!.kind;
    const dSafe = d === undefined ? undefined : this.redactor.value(d, { resourceType });
    const aSafe = a === undefined ? undefined : this.redactor.value(a, { resourceType });
    let diff: FieldChange[];
    let changeType: DriftObservation['changeType'];
    if (d && !a) [changeType, diff] = ['deleted', [{ path: '/', kind: 'removed' }]];
    else if (!d && a) [changeType, diff] = ['unmanaged', [{ path: '/', kind: 'added' }]];
    else {
      changeType = 'modified';
      diff = diffJson(dSafe, aSafe)
        .filter((x) => !runtimeOwned(x.path))
        .map((x) => this.redactor.fieldChange({ ...x, desired: valueAtPointer(dSafe, x.path), actual: valueAtPointer(aSafe, x.path) }, resourceType));
    }
    if (diff.length === 0) return undefined;
    const lastEvent = correlate();
    return {
      unit,
      resourceRef: ref,
      resourceType,
      relationship: 'desired!=actual',
      changeType,
      changedFields: diff.map((x) => x.path),
      diff,
      detectedAt: now.toISOString(),
      detector: 'local-planes',
      ...(healthOf(a) === undefined ? {} : { healthy: healthOf(a) }),
      sourceOfTruth: `file://${path.join(this.root, unit, 'desired')}`,
      ...(lastEvent ? { auditCorrelation: lastEvent } : {}),
    };
  }

  /**
   * Applies the desired manifest to the actual plane for one resource (a runtime revert).
   * Idempotent by `key`: a retry after a crash finds its ledger line and does nothing twice.
   */
  async revert(unit: string, resourceRef: string, key: string, at: Date): Promise<{ applied: boolean; detail: string }> {
    const ledgerFile = path.join(this.root, unit, 'ledger.jsonl');
    const ledger = await readFile(ledgerFile, 'utf8').catch(() => '');
    if (ledger.split('\n').some((l) => l && (JSON.parse(l) as { key: string }).key === key)) {
      return { applied: false, detail: `already applied (${key})` };
    }
    const desired = await this.readResource(unit, 'desired', resourceRef);
    if (!desired) throw new Error(`${resourceRef} is not in the desired plane of ${unit}; nothing to revert to`);
    const actualDir = path.join(this.root, unit, 'actual');
    const current = await this.readResource(unit, 'actual', resourceRef);
    const target = current?.file ?? path.join(actualDir, path.basename(desired.file));
    // Keep what the runtime owns (status); take everything else from desired.
    const next = { ...desired.doc, ...(current?.doc.status !== undefined ? { status: current.doc.status } : {}) };
    await mkdir(actualDir, { recursive: true });
    await writeFile(`${target}.tmp`, `${JSON.stringify(next, null, 2)}\n`);
    await rename(`${target}.tmp`, target);
    await appendFile(ledgerFile, `${JSON.stringify({ key, action: 'RUNTIME_REVERT', resourceRef, at: at.toISOString() })}\n`);
    return { applied: true, detail: `applied desired ${resourceRef} to the actual plane` };
  }

  /** Lines of the unit's action ledger (for audits and tests). */
  async ledger(unit: string): Promise<{ key: string; action: string; resourceRef: string; at: string }[]> {
    const text = await readFile(path.join(this.root, unit, 'ledger.jsonl'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { key: string; action: string; resourceRef: string; at: string });
  }
}


/**
 * Health as the live object reports it: the Available condition when present, else ready versus
 * desired replicas. Undefined (unknown) when the object has no status: never guessed as healthy.
 */
export function healthOf(live: Manifest | undefined): boolean | undefined {
  const status = live?.status as { conditions?: { type: string; status: string }[]; readyReplicas?: number; replicas?: number } | undefined;
  if (!status) return undefined;
  const available = status.conditions?.find((c) => c.type === 'Available');
  if (available) return available.status === 'True';
  if (typeof status.replicas === 'number') return (status.readyReplicas ?? 0) >= status.replicas;
  return undefined;
}
