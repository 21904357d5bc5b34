import type { Change } from './input';
import type { Relationship } from '../finding';

/**
 * Three-plane analysis (domain text §2): which relationship between desired, recorded and
 * actual state is broken.
 */

/** The result of three-plane analysis: the relationship and how it was found. */
export interface PlaneAnalysis {
  relationship: Relationship;
  /** `planes` when derived from plane digests, `declared` when the detector named it. */
  source: 'planes' | 'declared';
  why: string;
}

/** Thrown when the planes agree: there is no drift to classify. */
export class NoDriftInPlanesError extends Error {
  override readonly name = 'NoDriftInPlanesError';
  constructor(readonly resourceRef: string) {
    super(`${resourceRef}: desired, recorded and actual planes agree; there is no drift to classify`);
  }
}

/**
 * Names the broken relationship. With plane digests: render-only differences are `render-noise`;
 * desired==recorded with actual different is `recorded!=actual` when the tool's refresh saw it,
 * else `state-stale`; recorded==actual with desired different is `desired!=recorded`;
 * desired==actual with recorded different is `recorded!=actual`; otherwise `desired!=actual`.
 * Without digests, the declared relationship is used.
 */
export function analyzePlanes(
  change: Pick<Change, 'planes' | 'relationship' | 'resourceRef'>,
): PlaneAnalysis {
  const p = change.planes;
  if (!p) {
    // The schema guarantees one of the two.
    const relationship = change.relationship ?? 'desired!=actual';
    return { relationship, source: 'declared', why: `detector reported ${relationship}` };
  }
  if (p.renderOnly === true)
    return {
      relationship: 'render-noise',
      source: 'planes',
      why: 'desired differs only by generated output',
    };
  const d = p.desired ?? undefined;
  const r = p.recorded ?? undefined;
  const a = p.actual ?? undefined;
  // The planes show no difference: only a relationship the detector declared can stand.
  const declaredOrNoDrift = (): PlaneAnalysis => {
    if (change.relationship)
      return { relationship: change.relationship, source: 'declared', why: `detector reported ${change.relationship}` };
    throw new NoDriftInPlanesError(change.resourceRef);
  };
  if (r === undefined) {
    if (d !== a)
      return {
        relationship: 'desired!=actual',
        source: 'planes',
        why: 'no recorded plane; desired and actual differ',
      };
    return declaredOrNoDrift();
  }
  if (d === r && r === a) {
    return declaredOrNoDrift();
  }
  if (d === r) {
    return p.refreshObserved === false
      ? {
          relationship: 'state-stale',
          source: 'planes',
          why: 'desired == recorded but actual differs and refresh has not observed it',
        }
      : {
          relationship: 'recorded!=actual',
          source: 'planes',
          why: 'desired == recorded; refresh observed actual differing',
        };
  }
  if (r === a)
    return {
      relationship: 'desired!=recorded',
      source: 'planes',
      why: 'recorded == actual; desired changed but not applied',
    };
  if (d === a)
    return {
      relationship: 'recorded!=actual',
      source: 'planes',
      why: 'desired == actual; the recorded plane is stale',
    };
  return { relationship: 'desired!=actual', source: 'planes', why: 'all three planes differ' };
}
