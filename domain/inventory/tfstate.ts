import { z } from 'zod';
import { StateFormatError } from './errors';
import { identityKeyOf } from './identity';
import { isInventoryResourceType, type InventoryResourceType } from './resource-types';

const AttributePathStepSchema = z.looseObject({ type: z.string(), value: z.unknown() });

const StateInstanceSchema = z.looseObject({
  index_key: z.union([z.string(), z.number()]).optional(),
  schema_version: z.number().optional(),
  attributes: z.record(z.string(), z.unknown()).nullable().optional(),
  sensitive_attributes: z.array(z.unknown()).nullable().optional(),
  deposed: z.string().optional(),
  status: z.string().optional(),
});

const StateResourceSchema = z.looseObject({
  module: z.string().optional(),
  mode: z.string(),
  type: z.string(),
  name: z.string(),
  provider: z.string().optional(),
  instances: z.array(StateInstanceSchema),
});

/** Raw `terraform.tfstate` / OpenTofu state, format version 4. Unknown fields are tolerated. */
export const TfStateV4Schema = z.looseObject({
  version: z.literal(4),
  terraform_version: z.string().optional(),
  serial: z.number().optional(),
  lineage: z.string().optional(),
  outputs: z.record(z.string(), z.unknown()).optional(),
  resources: z.array(StateResourceSchema).default([]),
});

/** A parsed tfstate v4 document. */
export type TfStateV4 = z.infer<typeof TfStateV4Schema>;

/** One managed resource instance of the recorded plane, in tfstate attribute names. */
export interface RecordedResource {
  /** Full address, e.g. `module.net.aws_security_group.app["a"]`. */
  address: string;
  type: string;
  /** The cloud identity the scan matches on (see identityKeyOf); undefined for unsupported types. */
  key: string | undefined;
  /** True when the scan can observe and compare this type. */
  supported: boolean;
  attributes: Record<string, unknown>;
  /** Top-level attribute names marked sensitive in state: their values never leave the scan. */
  sensitiveAttributes: string[];
}

/** Renders the address of a state resource instance the way OpenTofu prints it. */
export function instanceAddress(
  resource: { module?: string; type: string; name: string },
  indexKey?: string | number,
): string {
  const base = `${resource.module ? `${resource.module}.` : ''}${resource.type}.${resource.name}`;
  if (indexKey === undefined) return base;
  return typeof indexKey === 'number' ? `${base}[${indexKey}]` : `${base}[${JSON.stringify(indexKey)}]`;
}

function sensitiveTopLevel(paths: unknown[] | null | undefined): string[] {
  const names = new Set<string>();
  for (const p of paths ?? []) {
    // State v4 writes each path as a list of steps; the first get_attr names the top-level attribute.
    const steps = Array.isArray(p) ? p : [];
    const first = AttributePathStepSchema.safeParse(steps[0]);
    if (first.success && first.data.type === 'get_attr' && typeof first.data.value === 'string')
      names.add(first.data.value);
  }
  return [...names].sort();
}

/**
 * Parses tfstate v4 (as text or an already-parsed value) into the managed resource instances of the
 * recorded plane. Data sources and deposed objects are left out: they are not inventory.
 * Throws StateFormatError naming `source` and the field when the document is not tfstate v4.
 */
export function parseTfStateV4(input: string | unknown, source: string): RecordedResource[] {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      // JSON.parse's message quotes the input, and state may hold secrets: say only that it is not JSON.
      throw new StateFormatError('not JSON', source);
    }
  }
  const parsed = TfStateV4Schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue ? `/${issue.path.map(String).join('/')}` : undefined;
    throw new StateFormatError(`not a tfstate v4 document: ${issue?.message ?? 'invalid'}`, source, field);
  }
  const out: RecordedResource[] = [];
  for (const resource of parsed.data.resources) {
    if (resource.mode !== 'managed') continue;
    for (const instance of resource.instances) {
      if (instance.deposed !== undefined) continue;
      const attributes = instance.attributes ?? {};
      const supported = isInventoryResourceType(resource.type);
      out.push({
        address: instanceAddress(resource, instance.index_key),
        type: resource.type,
        key: supported ? identityKeyOf(resource.type as InventoryResourceType, attributes) : undefined,
        supported,
        attributes,
        sensitiveAttributes: sensitiveTopLevel(instance.sensitive_attributes),
      });
    }
  }
  return out;
}
