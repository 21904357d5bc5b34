import { pathCovers } from './paths';
import type { AutoHealPolicy } from './schemas';

/** Why a path may or may not be auto-healed under a set of applicable policies. */
export interface AutoHealPathDecision {
  allowed: boolean;
  /** The policy and pattern that decided, e.g. `deniedPaths of stateless-app-safe-fields: /spec/template/spec/containers/* /image`. */
  reason: string;
}

/**
 * Whether a changed path may be auto-healed under the policies that apply to a unit
 * (see `policiesFor`): a `deny` policy or a denied path wins over any allowed path,
 * and a path must be covered by some allow policy's allowedPaths.
 */
export function autoHealPathDecision(
  policies: readonly AutoHealPolicy[],
  path: string,
  driftClass?: string,
): AutoHealPathDecision {
  for (const p of policies) {
    if (p.spec.mode === 'deny')
      return { allowed: false, reason: `auto-heal is denied by policy ${p.metadata.name}` };
  }
  for (const p of policies) {
    const denied = p.spec.deniedPaths.find((d) => pathCovers(d, path));
    if (denied) return { allowed: false, reason: `deniedPaths of ${p.metadata.name}: ${denied}` };
    if (driftClass && (p.spec.deniedDriftClasses as string[]).includes(driftClass))
      return { allowed: false, reason: `deniedDriftClasses of ${p.metadata.name}: ${driftClass}` };
  }
  for (const p of policies) {
    const allowed = p.spec.allowedPaths.find((a) => pathCovers(a, path));
    if (allowed) return { allowed: true, reason: `allowedPaths of ${p.metadata.name}: ${allowed}` };
  }
  return {
    allowed: false,
    reason: policies.length ? 'no allowedPaths entry covers the path' : 'no auto-heal policy applies',
  };
}
