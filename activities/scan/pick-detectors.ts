import { coveragePercent, staleObservation, type DetectionCoverage, type DriftObservation } from '../../domain/finding';
import type { DriftManagedUnit, Registry } from '../../registry';
import type { LocalDetection } from '../local-planes/local-planes';
import { joinContext, type ContextSource } from '../context/source';
import type { UnitDetector } from './detectors';

/**
 * The detector adapters a worker may have, by name. Each lives in `activities/<system>/` and is
 * picked here, in one place, by the unit's type and settings.
 */
export type DetectorName = 'plan' | 'aws-inventory' | 'aws-unmanaged' | 'argocd' | 'flux' | 'external-secrets' | 'local-planes';

const STACKS = ['opentofu-stack', 'terraform-stack', 'terragrunt-stack'];

/**
 * Which detectors observe a unit, in order (issue 11 §1-§3):
 * - IaC stacks: the plan detector when the unit has a source and its plan mode is not `off`; the
 *   AWS inventory scan (state against cloud) when its state is s3/local; the unmanaged-resource
 *   scan when it declares its account and `detection.unmanaged` is not false. Several can run.
 * - `aws-account`: the unmanaged-resource scan (and its coverage).
 * - `argocd-app`: the Argo CD API when `gitops.server` is set; else local planes (the demo's folders).
 * - `flux-kustomization`, `flux-helmrelease`: the Kubernetes API when the unit names its `cluster`; else local planes.
 * - `external-secret`: the Kubernetes API.
 * Local planes also observe any unit, registered or not, that has a folder in the planes dir and no other detector.
 */
export function detectorNamesFor(unit: DriftManagedUnit | undefined): DetectorName[] {
  if (!unit) return ['local-planes'];
  const s = unit.spec;
  const names: DetectorName[] = [];
  if (STACKS.includes(s.type)) {
    if ((s.detection?.plan ?? 'normal') !== 'off') names.push('plan');
    if (s.state?.backend === 's3' || s.state?.backend === 'local') names.push('aws-inventory');
    if (s.account && s.detection?.unmanaged !== false) names.push('aws-unmanaged');
  } else if (s.type === 'aws-account') {
    if (s.detection?.unmanaged !== false) names.push('aws-unmanaged');
  } else if (s.type === 'argocd-app') {
    names.push(s.gitops?.server ? 'argocd' : 'local-planes');
  } else if (s.type === 'flux-kustomization' || s.type === 'flux-helmrelease') {
    names.push(s.cluster && s.state?.backend !== 'argocd' ? 'flux' : 'local-planes');
  } else if (s.type === 'external-secret') {
    names.push('external-secrets');
  }
  return names;
}

/**
 * The coverage of a unit seen by several detectors (a stack's inventory scan and its account's
 * unmanaged scan): the two figures overlap (an account's figure counts the stack's resources too),
 * so they are not added. The least-covered view is kept, with every uncovered type of both.
 */
export function addCoverage(a: DetectionCoverage | undefined, b: DetectionCoverage | undefined): DetectionCoverage | undefined {
  if (!a) return b;
  if (!b) return a;
  const worse = coveragePercent(b) < coveragePercent(a) || (coveragePercent(b) === coveragePercent(a) && b.totalResources > a.totalResources) ? b : a;
  return { ...worse, uncoveredTypes: [...new Set([...a.uncoveredTypes, ...b.uncoveredTypes])].sort() };
}

/** What {@link unitTypeDetector} needs. */
export interface UnitTypeDetectorDeps {
  /** The registry (read once per detection; a change on disk is seen at the next scan). */
  registry: () => Promise<Registry | undefined>;
  adapters: Partial<Record<DetectorName, UnitDetector>>;
  /** Context joined into every observation (audit log, Git history, incidents, freezes, policies, cost, dependencies). */
  context?: readonly ContextSource[];
}

/**
 * The worker's detector: for each unit, runs every adapter {@link detectorNamesFor} picks and
 * merges what they saw. "Could not tell" is never "no drift":
 * - no adapter for the unit: failed;
 * - every adapter failed: failed, naming each;
 * - some failed: the others' drift is reported, plus one DETECTION_STALE observation naming what
 *   failed (`partialFailure`, so the attempt is recorded as failed).
 * Context sources are then joined into the observations.
 */
export function unitTypeDetector(deps: UnitTypeDetectorDeps): UnitDetector & { adaptersFor(unit: string): Promise<UnitDetector[]> } {
  const adaptersFor = async (name: string): Promise<UnitDetector[]> => {
    const unit = (await deps.registry())?.units.get(name);
    const out: UnitDetector[] = [];
    for (const n of detectorNamesFor(unit)) {
      const a = deps.adapters[n];
      if (a && (await a.has(name))) out.push(a);
    }
    // A unit of the planes folder that no registered adapter observes (the demo's sandbox).
    if (out.length === 0 && unit && deps.adapters['local-planes'] && (await deps.adapters['local-planes'].has(name))) out.push(deps.adapters['local-planes']);
    return out;
  };
  return {
    name: 'unit-type',
    adaptersFor,
    has: async (unit) => (await adaptersFor(unit)).length > 0,
    async detect(name, now): Promise<LocalDetection> {
      const adapters = await adaptersFor(name);
      if (adapters.length === 0) return { status: 'failed', unit: name, error: `no detector can observe ${name}` };
      const results = await Promise.all(
        adapters.map(async (a) => {
          try {
            return { a, r: await a.detect(name, now) };
          } catch (err) {
            return { a, r: { status: 'failed', unit: name, error: (err as Error).message } as LocalDetection };
          }
        }),
      );
      const failed = results.filter((x) => x.r.status === 'failed').map((x) => `${x.a.name}: ${(x.r as { error: string }).error}`);
      const ok = results.flatMap((x) => (x.r.status === 'ok' ? [x.r] : []));
      if (ok.length === 0) return { status: 'failed', unit: name, error: failed.join('; ') };
      let observations: DriftObservation[] = ok.flatMap((r) => r.observations);
      const registry = await deps.registry();
      const unit = registry?.units.get(name);
      if (unit && registry && deps.context?.length) observations = await joinContext(deps.context, { unit, registry, observations, now });
      let coverage: DetectionCoverage | undefined;
      for (const r of ok) coverage = addCoverage(coverage, r.coverage);
      const partialFailure = [...failed, ...ok.flatMap((r) => (r.partialFailure ? [r.partialFailure] : []))].join('; ');
      if (failed.length > 0) {
        observations.push(staleObservation({ unit: name, status: 'failed', error: failed.join('; '), detectedAt: now.toISOString(), detector: adapters.map((a) => a.name).join('+') }));
      }
      return {
        status: 'ok',
        unit: name,
        observations,
        resources: ok.reduce((n, r) => n + r.resources, 0),
        ...(coverage ? { coverage } : {}),
        ...(partialFailure ? { partialFailure } : {}),
      };
    },
    /**
     * One resource again (verification): by the unit's one adapter when it can read a single
     * resource; a unit several adapters observe (their results merge) is detected whole.
     */
    async detectResource(o, now) {
      const adapters = await adaptersFor(o.unit);
      const only = adapters.length === 1 ? adapters[0]! : undefined;
      if (!only?.detectResource) return this.detect(o.unit, now);
      try {
        return await only.detectResource(o, now);
      } catch (err) {
        return { status: 'failed', unit: o.unit, error: (err as Error).message };
      }
    },
    async revert(o, key, now) {
      for (const a of await adaptersFor(o.unit)) {
        const r = await a.revert(o, key, now);
        if (r) return r;
      }
      return undefined;
    },
  };
}
