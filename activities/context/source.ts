import type { DriftObservation, ObservationContext } from '../../domain/finding';

/**
 * What a context source adds to one observation: context fields, and the actor when the source is
 * an audit trail (set only when the detector found none).
 */
export type ContextPatch = ObservationContext & { actor?: NonNullable<DriftObservation['auditCorrelation']> };
import type { DriftManagedUnit, Registry } from '../../registry';

/**
 * A source of context (domain text §6 "detection is stronger when signals are joined"): the
 * Kubernetes audit log, the Git history of the unit's source, incidents, freeze calendars,
 * compliance policies, cost and dependency references. Each is an adapter with an embedded
 * default (a file, the registry) and a production source.
 */
export interface ContextSource {
  /** The source's name, as `context.unjoined` reports it when the source could not be read. */
  readonly name: string;
  /**
   * Returns a patch of what this source knows for each observation (same order, same length;
   * `undefined` where it knows nothing). Pure with respect to the observations: it never edits
   * them. Throws when the source cannot be read: the joiner then marks the context incomplete.
   */
  contextFor(input: { unit: DriftManagedUnit; registry: Registry; observations: readonly DriftObservation[]; now: Date }): Promise<(ContextPatch | undefined)[]>;
}

/** Merges a context patch into an observation: fields already set by the detector win. */
export function withContext(o: DriftObservation, withActor: ContextPatch | undefined): DriftObservation {
  if (!withActor || Object.keys(withActor).length === 0) return o;
  const { actor, ...patch } = withActor;
  const base: DriftObservation = actor && !o.auditCorrelation ? { ...o, auditCorrelation: actor } : o;
  if (Object.keys(patch).length === 0) return base;
  const merged: ObservationContext = { ...patch, ...(o.context ?? {}) };
  if (patch.unjoined || o.context?.unjoined) merged.unjoined = [...new Set([...(o.context?.unjoined ?? []), ...(patch.unjoined ?? [])])].sort();
  if (patch.artifacts || o.context?.artifacts) merged.artifacts = [...(o.context?.artifacts ?? []), ...(patch.artifacts ?? [])];
  return { ...base, context: merged };
}

/**
 * Joins every source's context into the observations. A source that throws is named in each
 * observation's `context.unjoined` (the context is incomplete, never silently empty); the others
 * still apply. Stale-detection observations (detectorStatus set) are passed through unchanged.
 */
export async function joinContext(
  sources: readonly ContextSource[],
  input: { unit: DriftManagedUnit; registry: Registry; observations: readonly DriftObservation[]; now: Date },
): Promise<DriftObservation[]> {
  let out = [...input.observations];
  const joinable = out.map((o, i) => (o.detectorStatus === undefined ? i : -1)).filter((i) => i >= 0);
  if (joinable.length === 0) return out;
  for (const source of sources) {
    const subset = joinable.map((i) => out[i]!);
    let patches: (ContextPatch | undefined)[];
    try {
      patches = await source.contextFor({ ...input, observations: subset });
      if (patches.length !== subset.length) throw new Error(`returned ${patches.length} patches for ${subset.length} observations`);
    } catch (err) {
      patches = subset.map(() => ({ unjoined: [`${source.name}: ${(err as Error).message}`.slice(0, 300)] }));
    }
    out = out.map((o, i) => {
      const k = joinable.indexOf(i);
      return k < 0 ? o : withContext(o, patches[k]);
    });
  }
  return out;
}
