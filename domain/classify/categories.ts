import type { Change, ClassifyUnit, Context } from './input';
import { pointerSegments } from './pointer';
import { CategorySchema, type Category } from './vocabulary';

/**
 * Which sensitive categories a change touches: identity (§5.5), network exposure (§9.1, §10),
 * databases (§18), secrets (§5.7, §17), images, replicas, metadata, cost. The hard rules key on
 * these, so they are derived in code from resource types, paths and the unit's domain, and
 * cannot be switched off by a table.
 */

const IDENTITY_TYPE =
  /(^aws_iam_|^aws_ssoadmin_|^aws_identitystore_|^google_.*iam|^google_service_account|^azurerm_role_|^azuread_|^github_.*(team|membership|collaborator|permission)|^vault_(policy|.*auth)|(^|\/)(role|clusterrole|rolebinding|clusterrolebinding|serviceaccount)$|iampolicy|iamrole)/i;
const NETWORK_TYPE =
  /(^aws_security_group|^aws_vpc_security_group_(ingress|egress)_rule|^aws_network_acl|^aws_lb_listener|^aws_alb_listener|^aws_wafv2|^aws_route$|^aws_internet_gateway|^aws_eip|^google_compute_firewall|^azurerm_network_security_|^azurerm_firewall|(^|\/)(networkpolicy|ingress|gateway|httproute|virtualservice|authorizationpolicy|ciliumnetworkpolicy)$)/i;
const DATABASE_TYPE =
  /(^aws_db_|^aws_rds_|^aws_docdb|^aws_neptune|^aws_redshift|^aws_elasticache|^aws_dynamodb_table|^google_sql_|^azurerm_.*(sql|postgres|mysql|cosmosdb)|^postgresql_|^mysql_|^mongodbatlas_|(^|\/)(database|dbschema|databaseschema|postgrescluster|cluster\.postgresql\.cnpg\.io|perconaxtradbcluster)$|^db[-_]schema)/i;
const SECRET_TYPE =
  /(^aws_secretsmanager_|^aws_ssm_parameter|^aws_kms_|^google_secret_manager|^azurerm_key_vault_secret|^vault_(generic_secret|kv_secret)|^kubernetes_secret|(^|\/)(secret|externalsecret|sealedsecret|secretstore|clustersecretstore|certificate)$)/i;
const COST_TYPE =
  /(^aws_instance$|^aws_autoscaling_group|^aws_eks_node_group|^aws_cloudwatch_log_group|^aws_nat_gateway|(^|\/)nodepool$)/i;

const NETWORK_DOMAINS = /^(network|cloud-network|networking|edge|ingress|public-network)$/i;
const IDENTITY_DOMAINS = /^(iam|identity|access|auth)$/i;
const DATABASE_DOMAINS = /^(database|databases|data|db)$/i;
const SECRET_DOMAINS = /^(secrets?|secret-delivery)$/i;

const SECRET_KEYWORD =
  /(password|passwd|secret|token|private[-_]?key|api[-_]?key|credential|connection[-_]?string|client[-_]?secret)/i;
const SECRET_SEGMENT = new RegExp(`${SECRET_KEYWORD.source}|^data$|^stringData$`, 'i');
const NOT_SECRET = /^(secretName|secretRef|secretKeyRef|secret_arn|secret_id|tokenPeriod)$/i;
const NETWORK_SEGMENT =
  /^(ingress|egress|cidr_blocks|ipv6_cidr_blocks|cidr_ip|from_port|to_port|loadBalancerSourceRanges|externalIPs|security_groups|publicly_accessible|public_ip|associate_public_ip_address)$/i;
const IDENTITY_SEGMENT =
  /^(assume_role_policy|trust_policy|policy_arn|managed_policy_arns|inline_policy|serviceAccountName|automountServiceAccountToken|roleRef|subjects|principals?)$/i;
const IMAGE_SEGMENT = /^(image|image_uri|ami)$/i;
const COST_SEGMENT =
  /^(instance_type|instance_class|node_type|desired_size|max_size|retention_in_days|allocated_storage|iops|throughput)$/i;

/** True when a pointer names something whose value must never be shown (a secret-ish key). */
export function isSecretPointer(pointer: string): boolean {
  return pointerSegments(pointer).some((s) => SECRET_SEGMENT.test(s) && !NOT_SECRET.test(s));
}

// Categories are handled as bit masks, bits in sorted order, so a mask lists them already sorted.
const SORTED: readonly Category[] = [...CategorySchema.options].sort();
const bit = (c: Category) => 1 << SORTED.indexOf(c);

function maskOf(cats: Iterable<Category>): number {
  let m = 0;
  for (const c of cats) m |= bit(c);
  return m;
}

/** What a resource type (with the unit's domain) contributes, and how its fields are read. */
interface TypeInfo {
  isK8sSecret: boolean;
  isService: boolean;
  byDomain: Map<string, number>;
}

// Resource types, domains and pointers repeat across a fleet: their categories are computed once.
const typeCache = new Map<string, TypeInfo>();
const fieldCache = [new Map<string, number>(), new Map<string, number>()];

function typeInfo(type: string): TypeInfo {
  let t = typeCache.get(type);
  if (t === undefined) {
    t = { isK8sSecret: /(^|\/)secret$/i.test(type), isService: /(^|\/)service$/i.test(type), byDomain: new Map() };
    if (typeCache.size > 10_000) typeCache.clear();
    typeCache.set(type, t);
  }
  return t;
}

function typeMask(t: TypeInfo, type: string, domain: string): number {
  let m = t.byDomain.get(domain);
  if (m === undefined) {
    const out: Category[] = [];
    if (IDENTITY_TYPE.test(type) || IDENTITY_DOMAINS.test(domain)) out.push('identity');
    if (NETWORK_TYPE.test(type) || NETWORK_DOMAINS.test(domain)) out.push('network-exposure');
    if (DATABASE_TYPE.test(type) || DATABASE_DOMAINS.test(domain)) out.push('database');
    if (SECRET_TYPE.test(type) || SECRET_DOMAINS.test(domain)) out.push('secret');
    if (COST_TYPE.test(type)) out.push('cost');
    m = maskOf(out);
    t.byDomain.set(domain, m);
  }
  return m;
}

function fieldMask(field: string, isK8sSecret: boolean): number {
  const cache = fieldCache[isK8sSecret ? 1 : 0] as Map<string, number>;
  let m = cache.get(field);
  if (m === undefined) {
    const out = new Set<Category>();
    fieldInto(out, field, isK8sSecret);
    m = maskOf(out);
    if (cache.size > 10_000) cache.clear();
    cache.set(field, m);
  }
  return m;
}

/** The categories a change touches, sorted for determinism. */
export function categoriesOf(unit: ClassifyUnit, change: Change, context: Context): Category[] {
  const type = change.resourceType;
  const t = typeInfo(type);
  let m = typeMask(t, type, unit.domain ?? '');
  if (change.categories) m |= maskOf(change.categories);
  if (change.identity === true) m |= bit('identity');
  if (context.secret !== undefined) m |= bit('secret');
  if (context.costDeltaPercent !== undefined) m |= bit('cost');
  for (const field of change.changedFields) m |= fieldMask(field, t.isK8sSecret);
  // A Service turned public is network exposure; plain Service metadata is not.
  if (
    t.isService &&
    change.changedFields.some((f) => /^\/spec\/(type|ports|loadBalancerSourceRanges|externalIPs)/.test(f))
  ) {
    m |= bit('network-exposure');
  }
  const out: Category[] = [];
  for (let k = 0; k < SORTED.length; k++) if ((m & (1 << k)) !== 0) out.push(SORTED[k] as Category);
  return out;
}

function fieldInto(out: Set<Category>, field: string, isK8sSecret: boolean): void {
  {
    const segs = pointerSegments(field);
    if (segs.some((s) => NETWORK_SEGMENT.test(s))) out.add('network-exposure');
    if (segs.some((s) => IDENTITY_SEGMENT.test(s))) out.add('identity');
    // ConfigMap `/data` is not a secret; a Secret's is, and so is any secret-named key.
    if (isK8sSecret || segs.some((s) => SECRET_KEYWORD.test(s) && !NOT_SECRET.test(s))) out.add('secret');
    if (segs.some((s) => IMAGE_SEGMENT.test(s))) out.add('image');
    if (segs.some((s) => COST_SEGMENT.test(s))) out.add('cost');
    if (segs[segs.length - 1] === 'replicas' && segs[0] === 'spec') out.add('replicas');
    if (segs[0] === 'metadata' && (segs[1] === 'labels' || segs[1] === 'annotations')) out.add('metadata');
    else if (!segs.some((s) => IMAGE_SEGMENT.test(s))) out.add('config');
  }
}
