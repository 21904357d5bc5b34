import { z } from 'zod';
import { RegistryDocumentSchema, registryApiVersion } from './schemas';

/** The `$id` of the published registry JSON Schema. */
export const registrySchemaId = 'https://driftplane.io/schemas/registry/v1alpha1.json';

/**
 * A JSON Schema (draft-07, which the YAML language server and ajv read) of one registry document,
 * generated from the zod schemas. Cross-document rules (references, lint) are not expressible here;
 * `driftplane registry validate` checks those.
 */
export function registryJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(RegistryDocumentSchema, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return {
    ...schema,
    $id: registrySchemaId,
    title: `driftplane registry document (${registryApiVersion})`,
    description:
      'One document of a driftplane registry: DriftManagedUnit, DriftOwnershipRule, AutoHealPolicy, RoutingPolicy, DriftBudget, DriftException, Team, RedactionPolicy, ChangeFreeze or CompliancePolicy.',
  };
}
