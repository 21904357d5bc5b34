import type { DriftObservation, ObservationContext } from '../finding';
import { splitPointer } from '../registry/paths';

/**
 * Dependency drift (issue 11, domain text §3 dependency drift, §5.4, §16): a mutable reference in
 * the desired or live values of a drift, so what runs can change without anyone changing the
 * configuration:
 * - a container image with a tag and no digest (`app:1.4`, `app:latest`), or with neither (`app`);
 * - a module source without a pinned ref (a Git source without `?ref=` or with a branch ref, a
 *   registry module without a version or with a constraint such as `~> 5.0` or `>= 1.2`);
 * - a Helm chart version that is a range (`^1.2`, `~1.2`, `1.x`, `*`, `>=1.0 <2.0`).
 * Pure: only the observation's diff values are read.
 */

/** A mutable reference and why it is mutable. */
export type MutableRef = NonNullable<ObservationContext['dependency']>;

/** Git refs that are branches by convention (a branch moves; a tag or a commit does not). */
const BRANCH_REFS = /^(main|master|develop|development|dev|trunk|head|latest|staging|production|prod|release|next)$/i;

/** Why an image reference is mutable, or undefined when it is pinned by digest. */
export function mutableImage(image: string): string | undefined {
  const ref = image.trim();
  if (ref.length === 0 || /\s/.test(ref)) return undefined;
  if (/@sha256:[0-9a-f]{64}$/i.test(ref)) return undefined;
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  if (colon < 0) return 'image has neither tag nor digest: it resolves to :latest, which moves';
  const tag = last.slice(colon + 1);
  if (tag === 'latest') return 'image tag :latest without digest moves with every push';
  return `image tag :${tag} without digest is mutable (a tag can be pushed again)`;
}

/** Why a module source is unpinned, or undefined when it is pinned (or not a remote module). */
export function unpinnedModuleSource(source: string, version?: unknown): string | undefined {
  const s = source.trim();
  if (s.startsWith('./') || s.startsWith('../') || s.startsWith('/')) return undefined; // local module
  const isGit = /^(git::|git@|hg::)/.test(s) || /^(https?:\/\/)?(github\.com|bitbucket\.org|gitlab\.com)\//.test(s) || /\.git($|[/?])/.test(s);
  if (isGit) {
    const ref = /[?&]ref=([^&]+)/.exec(s)?.[1];
    if (ref === undefined) return 'module source has no ?ref=: it follows the default branch';
    if (BRANCH_REFS.test(decodeURIComponent(ref))) return `module source ref=${ref} is a branch, not a tag or commit`;
    return undefined;
  }
  // Terraform registry address: [host/]namespace/name/provider[//subdir]
  if (/^([a-z0-9.-]+\.[a-z]{2,}\/)?[\w-]+\/[\w-]+\/[\w-]+(\/\/.*)?$/i.test(s)) {
    if (version === undefined || version === null || version === '') return 'registry module without a version: the newest version is used';
    if (typeof version === 'string' && isVersionRange(version, 'terraform')) return `registry module version "${version}" is a constraint, not a pinned version`;
  }
  return undefined;
}

/** True when a version string is a range rather than one exact version. */
export function isVersionRange(v: string, flavour: 'terraform' | 'semver' = 'semver'): boolean {
  const s = v.trim();
  if (s === '' || s === '*' || s.toLowerCase() === 'latest') return true;
  if (/[~^<>*|]|!=/.test(s)) return true;
  if (flavour === 'terraform' && s.includes(',')) return true;
  // `1.x`, `1.2.X`, `1` or `1.2` (a partial version means any patch in semver ranges).
  if (/(^|\.)[xX](\.|$)/.test(s)) return true;
  if (flavour === 'semver' && /^v?\d+(\.\d+)?$/.test(s)) return true;
  if (/\s/.test(s)) return true; // `>=1.0 <2.0`, `1.2 - 1.4`
  return false;
}

/** A source URL without its user information (`https://user:token@host/…` → `https://host/…`): a ref must never carry a credential. */
export function withoutUserinfo(source: string): string {
  return source.replace(/\/\/[^/@\s]+@/, '//');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Mutable references in one value found at `path` (a diff entry's desired or actual value), in document order. */
function scan(value: unknown, path: string[], parent: Record<string, unknown> | undefined, out: MutableRef[]): void {
  const key = path.at(-1);
  if (typeof value === 'string' && key !== undefined) {
    const inChart = path.includes('chart') || (parent !== undefined && 'chart' in parent);
    const inModule = path.includes('module_calls') || path.includes('module');
    if (key === 'image' || key === 'image_uri') {
      const why = mutableImage(value);
      if (why) out.push({ ref: value, why });
    } else if (key === 'source' && (inModule || (parent !== undefined && ('version' in parent || 'version_constraint' in parent)))) {
      const why = unpinnedModuleSource(value, parent?.version ?? parent?.version_constraint);
      if (why) out.push({ ref: withoutUserinfo(value), why });
    } else if ((key === 'version' || key === 'targetRevision') && inChart) {
      if (isVersionRange(value)) {
        const chart = typeof parent?.chart === 'string' ? parent.chart : undefined;
        out.push({ ref: chart ? `${chart}@${value}` : value, why: `Helm chart version "${value}" is a range: a new chart release changes what is deployed` });
      }
    } else if ((key === 'version' || key === 'version_constraint') && inModule && typeof parent?.source !== 'string') {
      // A version seen without its source (a diff of the version alone).
      if (isVersionRange(value, 'terraform')) out.push({ ref: value, why: `module version "${value}" is a constraint, not a pinned version` });
    } else if (key === 'tag' && parent !== undefined && typeof parent.repository === 'string' && parent.digest === undefined) {
      // Helm values convention: image: { repository, tag } without a digest.
      const why = mutableImage(`${parent.repository}:${value}`);
      if (why) out.push({ ref: `${parent.repository}:${value}`, why });
    }
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => scan(v, [...path, String(i)], undefined, out));
    return;
  }
  if (isRecord(value)) {
    for (const [k, v] of Object.entries(value)) scan(v, [...path, k], value, out);
  }
}

/** Every mutable reference in the observation's diff values (desired before actual, entries in order), without repeats. */
export function mutableRefs(diff: DriftObservation['diff']): MutableRef[] {
  const out: MutableRef[] = [];
  for (const d of diff) {
    const path = splitPointer(d.path);
    for (const v of [d.desired, d.actual]) if (v !== undefined) scan(v, path, undefined, out);
  }
  const seen = new Set<string>();
  return out.filter((r) => (seen.has(r.ref) ? false : (seen.add(r.ref), true)));
}

/** The dependency context of an observation: its first mutable reference, or undefined when it has none. */
export function dependencyContext(o: Pick<DriftObservation, 'diff'>): Pick<ObservationContext, 'dependency'> | undefined {
  const first = mutableRefs(o.diff)[0];
  return first ? { dependency: first } : undefined;
}
