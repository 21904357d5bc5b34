/**
 * The drift-managed-unit registry: load and validate a folder of YAML documents, and resolve what
 * applies to a unit (approvers, routes, exceptions, policies). The pure parts live in domain/registry.
 */
import path from 'node:path';
import { loadRegistry, type LoadRegistryOptions } from './load-registry';
import { RegistryError } from './errors';
import type { Registry } from '../domain/registry/model';

export {
  loadRegistry,
  listRegistryFiles,
  type RegistryLoadResult,
  type LoadRegistryOptions,
} from './load-registry';
export { RegistryError } from './errors';
export { formatIssue } from './format-issue';
export { locateField } from './locate';
export type { Registry, RegistryIssue, SourceRef } from '../domain/registry/model';
export type {
  AutoHealPolicy,
  DriftBudget,
  DriftException,
  DriftManagedUnit,
  DriftOwnershipRule,
  RoutingPolicy,
  Target,
  Team,
  RegistryKind,
} from '../domain/registry/schemas';
export { matchRoute, type RouteMatch, type RouteAttributes } from '../domain/registry/match-route';
export {
  resolveApprovers,
  peopleOf,
  activeExceptionsFor,
  exceptionCoverage,
  policiesFor,
  breakGlassRolesFor,
  evidenceRetentionOf,
  allBreakGlassRoles,
  detectionIntervalMs,
  labelsOf,
  unitDomain,
  type Approver,
} from '../domain/registry/resolve';
export { autoHealPathDecision, type AutoHealPathDecision } from '../domain/registry/auto-heal-scope';
export { registryJsonSchema } from '../domain/registry/json-schema';

/** Absolute path of registry/examples/acme, or of $DRIFTPLANE_REGISTRY when it is set. */
export const defaultRegistryDir: string = process.env.DRIFTPLANE_REGISTRY
  ? path.resolve(process.env.DRIFTPLANE_REGISTRY)
  : path.resolve(__dirname, 'examples', 'acme');

/** Loads a registry and returns it, or throws a RegistryError (an InputError: exit code 1) listing every error. */
export async function loadRegistryOrThrow(
  dir: string = defaultRegistryDir,
  opts: LoadRegistryOptions = {},
): Promise<Registry> {
  const result = await loadRegistry(dir, opts);
  if (!result.ok) throw new RegistryError(dir, result.errors);
  return result.registry;
}
