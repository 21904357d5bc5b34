import { unitBoundary as boundaryOfUnit } from '../../domain/boundaries';
import type { Registry } from '../../registry';

/** What the boundary lookup needs: the worker's registry reader (undefined when the registry is invalid). */
export interface BoundaryDeps {
  registry: () => Promise<Registry | undefined>;
  /** Where the registry lives, for the error when it cannot be read. */
  registryDir: string;
}

/**
 * The control worker's boundary lookup, run by the workflows as a local activity (one marker in
 * history) before the first activity that touches a unit's systems. The answer is recorded, so a
 * registry change while a lifecycle runs never moves that run's activities on replay.
 */
export function createBoundaryActivities(deps: BoundaryDeps) {
  return {
    /**
     * The credential boundary the registry declares for a unit (`spec.boundary`, `auto` derived),
     * or none: a unit without one, or not in the registry, stays on the control queue. An invalid
     * registry is an error (retried): "could not tell" never silently picks a queue.
     */
    async unitBoundary(input: { unit: string }): Promise<{ boundary?: string }> {
      const registry = await deps.registry();
      if (!registry)
        throw new Error(
          `registry at ${deps.registryDir} is invalid: cannot tell the credential boundary of ${input.unit}`,
        );
      const unit = registry.units.get(input.unit);
      const boundary = unit ? boundaryOfUnit(unit.spec) : undefined;
      return boundary ? { boundary } : {};
    },
  };
}

/** The boundary activities, as the workflows see them. */
export type BoundaryActivities = ReturnType<typeof createBoundaryActivities>;
