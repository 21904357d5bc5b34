/**
 * Which resource types are identity and access (domain text §5.5): a change to one of them is an
 * identity change (`identity: true`), never auto-healed silently.
 *
 * This is about identity-and-access, not OpenTofu's "resource identity" (`before_identity` /
 * `after_identity`, the provider's unique key of an object): a change of that is reported
 * separately as `objectIdentityChanged`, because it means the change now targets another remote object.
 */
export const IDENTITY_RESOURCE_TYPE_PATTERNS: readonly RegExp[] = [
  /^aws_iam_/, // roles, policies, attachments, users, groups, instance profiles, OIDC providers
  /^aws_ssoadmin_/, // IAM Identity Center permission sets and account assignments
  /^google_.*_iam_/, // google_project_iam_member, google_storage_bucket_iam_binding, ...
  /^google_service_account/, // service accounts and their keys
  /^azurerm_role_/, // azurerm_role_assignment, azurerm_role_definition
  /^azuread_/, // Entra ID users, groups, applications, service principals
  /^kubernetes_(cluster_)?role(_binding)?(_v1)?$/, // Kubernetes RBAC
  /^kubernetes_service_account(_v1)?$/,
];

/** True when the resource type is identity and access (see {@link IDENTITY_RESOURCE_TYPE_PATTERNS}). */
export function isIdentityResourceType(type: string): boolean {
  for (const re of IDENTITY_RESOURCE_TYPE_PATTERNS) if (re.test(type)) return true;
  return false;
}
