import type { ManagedFieldsEntry, OwnershipRule } from './input';
import { globMatches, patternSpecificity, pointerCovers, pointerSegments } from './pointer';
import type { OwnerKind } from './vocabulary';

/**
 * Field ownership (domain text §5.3, §8.3): who owns each changed field, from explicit owners,
 * DriftOwnershipRules, and Kubernetes `metadata.managedFields` (FieldsV1).
 */

/** Who last wrote a field according to managedFields. */
export interface FieldWriter {
  manager: string;
  kind: OwnerKind;
  operation?: string;
  time?: string;
  subresource?: string;
}

/** The resolved owner of one changed field. */
export interface FieldOwnership {
  path: string;
  /** The owner's name: `git`, a controller name (`horizontal-pod-autoscaler`), `runtime`, `policy`, a manager… */
  owner: string;
  kind: OwnerKind;
  /** Where the answer came from: `fieldOwners`, `ownershipRule:<name>`, `managedFields`, `default`. */
  source: string;
  /** Two sources of the same strength disagree: ownership is not unambiguous. */
  ambiguous?: boolean;
  /** The last writer from managedFields, when known. */
  lastWriter?: FieldWriter;
  /** Every manager whose FieldsV1 set covers the field. */
  managers?: string[];
}

const BROWSER = /^(mozilla|chrome|safari|firefox|edge|opera)\b/i;
const MANUAL = /^(kubectl(-.*)?|k9s|lens|oc(-.*)?|kubernetes-dashboard|dashboard|rancher-ui)$/i;
const GITOPS =
  /^(argocd(-.*)?|argo-cd(-.*)?|kustomize-controller|helm-controller|flux(-.*)?|gotk-.*|fluxcd.*|helm|terraform|tofu|pulumi.*|crossplane.*)$/i;
const CONTROLLER =
  /(^kube-controller-manager$|^kube-scheduler$|^kubelet$|autoscaler|^hpa|^vpa|-controller$|-operator$|^operator|controller-manager|^external-secrets|^cert-manager|^istio|^linkerd|^olm$|^catalog$|^openshift-|webhook|^kyverno|^gatekeeper|^janitor$)/i;

/**
 * Classifies a managedFields manager name. A browser user agent (`Mozilla`) is a console edit,
 * `kubectl-*` a manual command, Argo CD / Flux the GitOps controller (Git), and known
 * controllers are controllers.
 */
export function managerKind(manager: string): OwnerKind {
  let kind = managerKinds.get(manager);
  if (kind === undefined) {
    kind = managerKindOf(manager);
    // Manager names repeat across every object of a cluster: classify each once.
    if (managerKinds.size > 10_000) managerKinds.clear();
    managerKinds.set(manager, kind);
  }
  return kind;
}

const managerKinds = new Map<string, OwnerKind>();

function managerKindOf(manager: string): OwnerKind {
  if (BROWSER.test(manager)) return 'manual';
  if (GITOPS.test(manager)) return 'git';
  if (MANUAL.test(manager)) return 'manual';
  if (CONTROLLER.test(manager)) return 'controller';
  return 'unknown';
}

/** Maps an explicit owner string (from `fieldOwners` or a rule) onto its kind. */
export function ownerKindOf(owner: string): OwnerKind {
  const o = owner.toLowerCase();
  if (o === 'git' || o === 'gitops' || o === 'desired' || o.startsWith('git:')) return 'git';
  if (o === 'runtime' || o === 'status' || o.startsWith('runtime:')) return 'runtime';
  if (o === 'policy' || o.startsWith('policy:')) return 'policy';
  if (o === 'manual' || o === 'human' || o.startsWith('manual:') || o.startsWith('human:')) return 'manual';
  if (o === 'unknown' || o === 'ambiguous') return 'unknown';
  if (o.startsWith('controller:')) return 'controller';
  const byManager = managerKind(owner);
  return byManager === 'unknown' ? 'controller' : byManager;
}

/** True when an ownership rule applies to a resource type (`Deployment`, `apps/Deployment`, `aws_iam_role`). */
export function ruleApplies(rule: OwnershipRule, resourceType: string): boolean {
  const r = rule.resource;
  if (!r) return true;
  const kind = resourceType.includes('/')
    ? resourceType.slice(resourceType.lastIndexOf('/') + 1)
    : resourceType;
  if (r.kind !== undefined && !globMatches(r.kind, kind) && !globMatches(r.kind, resourceType)) return false;
  if (r.type !== undefined && !globMatches(r.type, resourceType)) return false;
  if (r.group !== undefined && resourceType.includes('/')) {
    const group = resourceType.slice(0, resourceType.lastIndexOf('/'));
    if (!globMatches(r.group, group) && !globMatches(`${r.group}/*`, group)) return false;
  }
  return true;
}

interface RuleHit {
  owner: string;
  kind: OwnerKind;
  specificity: number;
  rule: string;
}

/** The owner an ownership rule set gives a path, or undefined when no rule covers it. */
export function ownerFromRules(
  rules: readonly OwnershipRule[],
  resourceType: string,
  path: string,
  conditions: readonly string[],
): { owner: string; kind: OwnerKind; source: string; ambiguous: boolean } | undefined {
  const hits: RuleHit[] = [];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as OwnershipRule;
    if (!ruleApplies(rule, resourceType)) continue;
    const name = rule.name ?? `#${i}`;
    addHits(hits, rule.gitOwned, path, 'git', 'git', name);
    addHits(hits, rule.runtimeOwned, path, 'runtime', 'runtime', name);
    addHits(hits, rule.policyOwned, path, 'policy', 'policy', name);
    for (const c of rule.controllerOwned ?? []) {
      // A conditional owner (`hpa-enabled`) only owns the field while its condition holds.
      if (c.condition !== undefined && !conditions.includes(c.condition)) continue;
      if (pointerCovers(c.path, path))
        hits.push({
          owner: c.owner,
          kind: 'controller',
          specificity: patternSpecificity(c.path),
          rule: name,
        });
    }
  }
  if (hits.length === 0) return undefined;
  const best = Math.max(...hits.map((h) => h.specificity));
  const top = hits.filter((h) => h.specificity === best);
  const first = top[0] as RuleHit;
  const ambiguous = top.some((h) => h.owner !== first.owner);
  return { owner: first.owner, kind: first.kind, source: `ownershipRule:${first.rule}`, ambiguous };
}

function addHits(
  hits: RuleHit[],
  patterns: readonly string[] | undefined,
  path: string,
  owner: string,
  kind: OwnerKind,
  rule: string,
): void {
  if (!patterns) return;
  for (const p of patterns)
    if (pointerCovers(p, path)) hits.push({ owner, kind, specificity: patternSpecificity(p), rule });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function keyMatchesElement(key: string, element: unknown, index: number): boolean {
  if (key.startsWith('i:')) return Number(key.slice(2)) === index;
  try {
    if (key.startsWith('k:')) {
      const want: unknown = JSON.parse(key.slice(2));
      if (!isRecord(want) || !isRecord(element)) return false;
      return Object.entries(want).every(([k, v]) => JSON.stringify(element[k]) === JSON.stringify(v));
    }
    if (key.startsWith('v:')) return JSON.stringify(JSON.parse(key.slice(2))) === JSON.stringify(element);
  } catch {
    return false;
  }
  return false;
}

/**
 * True when a FieldsV1 set covers the path. `f:<name>` keys follow object fields; `k:{...}`,
 * `v:<json>` and `i:<n>` keys follow list elements. A list index in the pointer is mapped to the
 * element's key through the live object when given; without it, any element key may match.
 * An empty node (`{}`) owns everything beneath it.
 */
export function fieldsV1Covers(
  fields: Record<string, unknown>,
  segments: readonly string[],
  live?: unknown,
): boolean {
  let node: Record<string, unknown> = fields;
  let obj: unknown = live;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as string;
    const keys = Object.keys(node);
    if (keys.length === 0) return i > 0;
    const fKey = `f:${seg}`;
    const child = node[fKey];
    if (isRecord(child)) {
      node = child;
      obj = isRecord(obj) ? obj[seg] : undefined;
      continue;
    }
    if (/^\d+$/.test(seg)) {
      const index = Number(seg);
      const element = Array.isArray(obj) ? (obj[index] as unknown) : undefined;
      const candidates = keys.filter((k) => k.startsWith('k:') || k.startsWith('v:') || k.startsWith('i:'));
      const matching = Array.isArray(obj)
        ? candidates.filter((k) => keyMatchesElement(k, element, index))
        : candidates;
      const rest = segments.slice(i + 1);
      return matching.some((k) => {
        const sub = node[k];
        return (
          isRecord(sub) &&
          (rest.length === 0 || Object.keys(sub).length === 0 || fieldsV1Covers(sub, rest, element))
        );
      });
    }
    return false;
  }
  return true;
}

/**
 * Every manager whose managedFields set covers the path, newest write first (ties: later entry first).
 * Entries without `fieldsV1` are skipped.
 */
export function writersOf(
  entries: readonly ManagedFieldsEntry[],
  path: string,
  live?: unknown,
): FieldWriter[] {
  const segments = pointerSegments(path);
  const found: { w: FieldWriter; t: number; i: number }[] = [];
  entries.forEach((e, i) => {
    if (!e.fieldsV1 || !fieldsV1Covers(e.fieldsV1, segments, live)) return;
    const manager = e.manager ?? 'unknown';
    const t = e.time !== undefined ? Date.parse(e.time) : Number.NaN;
    const kind: OwnerKind =
      e.subresource === 'status' && segments[0] === 'status' ? 'runtime' : managerKind(manager);
    const w: FieldWriter = { manager, kind };
    if (e.operation !== undefined) w.operation = e.operation;
    if (e.time !== undefined) w.time = e.time;
    if (e.subresource !== undefined) w.subresource = e.subresource;
    found.push({ w, t: Number.isNaN(t) ? -Infinity : t, i });
  });
  found.sort((a, b) => b.t - a.t || b.i - a.i);
  return found.map((f) => f.w);
}

const RUNTIME_DEFAULT = [
  '/status',
  '/metadata/managedFields',
  '/metadata/resourceVersion',
  '/metadata/generation',
  '/metadata/uid',
  '/metadata/creationTimestamp',
];

/** Inputs for resolving ownership of the changed fields. */
export interface OwnershipInput {
  resourceType: string;
  changedFields: readonly string[];
  fieldOwners?: Record<string, string>;
  ownershipRules?: readonly OwnershipRule[];
  managedFields?: readonly ManagedFieldsEntry[];
  liveObject?: unknown;
  conditions?: readonly string[];
}

/**
 * Resolves the owner of every changed field. Precedence: explicit `fieldOwners`, then ownership
 * rules (who should own the field), then managedFields (who last wrote it: a controller owns
 * what it writes; a manual writer does not become the owner), then defaults (`/status` and
 * server-managed metadata are runtime, the rest is declared in Git).
 */
export function resolveOwnership(input: OwnershipInput): FieldOwnership[] {
  const conditions = input.conditions ?? [];
  return input.changedFields.map((path) => {
    const writers = input.managedFields ? writersOf(input.managedFields, path, input.liveObject) : [];
    return withWriter(ownerOf(input, path, writers, conditions), writers);
  });
}

function withWriter(o: FieldOwnership, writers: readonly FieldWriter[]): FieldOwnership {
  const lastWriter = writers[0];
  if (lastWriter) {
    o.lastWriter = lastWriter;
    o.managers = writers.map((w) => w.manager);
  }
  return o;
}

function ownerOf(
  input: OwnershipInput,
  path: string,
  writers: readonly FieldWriter[],
  conditions: readonly string[],
): FieldOwnership {
  const lastWriter = writers[0];
  {
    const explicit = input.fieldOwners?.[path];
    if (explicit !== undefined)
      return { path, owner: explicit, kind: ownerKindOf(explicit), source: 'fieldOwners' };
    const fromRules = input.ownershipRules
      ? ownerFromRules(input.ownershipRules, input.resourceType, path, conditions)
      : undefined;
    if (fromRules) {
      const o: FieldOwnership = {
        path,
        owner: fromRules.owner,
        kind: fromRules.kind,
        source: fromRules.source,
      };
      if (fromRules.ambiguous) o.ambiguous = true;
      return o;
    }
    if (
      lastWriter &&
      (lastWriter.kind === 'controller' || lastWriter.kind === 'runtime' || lastWriter.kind === 'git')
    ) {
      return { path, owner: lastWriter.manager, kind: lastWriter.kind, source: 'managedFields' };
    }
    for (const p of RUNTIME_DEFAULT)
      if (pointerCovers(p, path)) return { path, owner: 'runtime', kind: 'runtime', source: 'default' };
    return { path, owner: 'git', kind: 'git', source: 'default' };
  }
}
