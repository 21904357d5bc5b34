import { z } from 'zod';

/**
 * AWS resource types the inventory scan compares. `aws_s3_bucket_public_access_block` is its own
 * resource in the AWS provider (the bucket's public access block is not an attribute of
 * `aws_s3_bucket` in state), so it is scanned as its own type.
 */
export const InventoryResourceTypeSchema = z.enum([
  'aws_security_group',
  'aws_iam_role',
  'aws_iam_role_policy',
  'aws_iam_role_policy_attachment',
  'aws_s3_bucket',
  'aws_s3_bucket_public_access_block',
  'aws_instance',
]);

/** One supported resource type. */
export type InventoryResourceType = z.infer<typeof InventoryResourceTypeSchema>;

/** True when the scan knows how to observe and compare `type`. */
export function isInventoryResourceType(type: string): type is InventoryResourceType {
  return InventoryResourceTypeSchema.safeParse(type).success;
}

/**
 * Types the unmanaged pass lists account-wide. Role policies and attachments are listed only
 * under roles some state manages (an unmanaged role is reported once, as the role).
 */
export const ACCOUNT_LISTED_TYPES: readonly InventoryResourceType[] = [
  'aws_security_group',
  'aws_iam_role',
  'aws_iam_role_policy',
  'aws_iam_role_policy_attachment',
  'aws_s3_bucket',
  'aws_instance',
];
