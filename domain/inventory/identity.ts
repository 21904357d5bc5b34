import type { InventoryResourceType } from './resource-types';

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/**
 * The cloud identity of a resource, built from tfstate attribute names, so recorded and observed
 * resources meet on the same key: the security group or instance id, the role or bucket name,
 * `role:policy` for an inline role policy (the provider's own id) and `role/policyArn` for an
 * attachment (whose state id is random). Undefined when the attributes lack the identity.
 */
export function identityKeyOf(
  type: InventoryResourceType,
  attributes: Record<string, unknown>,
): string | undefined {
  let key: string;
  switch (type) {
    case 'aws_security_group':
    case 'aws_instance':
      key = str(attributes.id);
      break;
    case 'aws_iam_role':
      key = str(attributes.name) || str(attributes.id);
      break;
    case 'aws_iam_role_policy': {
      const role = str(attributes.role);
      const name = str(attributes.name);
      key = role && name ? `${role}:${name}` : str(attributes.id);
      break;
    }
    case 'aws_iam_role_policy_attachment': {
      const role = str(attributes.role);
      const arn = str(attributes.policy_arn);
      key = role && arn ? `${role}/${arn}` : '';
      break;
    }
    case 'aws_s3_bucket':
    case 'aws_s3_bucket_public_access_block':
      key = str(attributes.bucket) || str(attributes.id);
      break;
  }
  return key || undefined;
}
