import type { SensitiveCategory } from './schemas';
import { toPointer, unescapePointerToken } from '../json-pointer';

/**
 * Field paths are JSON pointers (`/spec/template/spec/containers/0/image`) in which a pattern
 * segment `*` matches any one segment. A pattern covers a path when it matches the path or
 * one of its ancestors (ignoring `/metadata/annotations` ignores every annotation).
 */

/** Splits a JSON pointer into unescaped segments. `""` and `"/"` are the whole document. */
export function splitPointer(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(pointer.startsWith('/') ? 1 : 0)
    .split('/')
    .map(unescapePointerToken);
}

/** Joins segments into a JSON pointer, escaping `~` and `/`. */
export function joinPointer(segments: readonly (string | number)[]): string {
  return toPointer(segments);
}

function segmentMatches(pattern: string, segment: string): boolean {
  return pattern === '*' || segment === '*' || pattern === segment;
}

/** True when `pattern` matches `path` exactly, segment by segment, with `*` wildcards. */
export function pathMatches(pattern: string, path: string): boolean {
  const p = splitPointer(pattern);
  const s = splitPointer(path);
  return p.length === s.length && p.every((seg, i) => segmentMatches(seg, s[i] as string));
}

/** True when `pattern` matches `path` or one of its ancestors: the field or anything below it. */
export function pathCovers(pattern: string, path: string): boolean {
  const p = splitPointer(pattern);
  const s = splitPointer(path);
  return p.length <= s.length && p.every((seg, i) => segmentMatches(seg, s[i] as string));
}

/** True when one path covers the other (they name the same field, or one is inside the other). */
export function pathsOverlap(a: string, b: string): boolean {
  return pathCovers(a, b) || pathCovers(b, a);
}

/** Field names that, wherever they appear, are sensitive in the §14.1 sense. */
const sensitiveSegments: Record<string, SensitiveCategory> = {
  // identity
  serviceAccountName: 'identity',
  serviceAccount: 'identity',
  automountServiceAccountToken: 'identity',
  subjects: 'identity',
  roleRef: 'identity',
  policy: 'identity',
  assume_role_policy: 'identity',
  inline_policy: 'identity',
  policy_document: 'identity',
  managed_policy_arns: 'identity',
  policy_arn: 'identity',
  permissions_boundary: 'identity',
  iam_instance_profile: 'identity',
  role: 'identity',
  role_arn: 'identity',
  // image
  image: 'image',
  images: 'image',
  image_id: 'image',
  image_uri: 'image',
  ami: 'image',
  // network
  ingress: 'network',
  egress: 'network',
  cidr_blocks: 'network',
  ipv6_cidr_blocks: 'network',
  prefix_list_ids: 'network',
  security_groups: 'network',
  security_group_ids: 'network',
  vpc_security_group_ids: 'network',
  source_security_group_id: 'network',
  from_port: 'network',
  to_port: 'network',
  publicly_accessible: 'network',
  hostNetwork: 'network',
  hostPort: 'network',
  ports: 'network',
  loadBalancerSourceRanges: 'network',
  externalIPs: 'network',
  // privilege
  securityContext: 'privilege',
  privileged: 'privilege',
  capabilities: 'privilege',
  allowPrivilegeEscalation: 'privilege',
  runAsUser: 'privilege',
  runAsGroup: 'privilege',
  runAsNonRoot: 'privilege',
  hostPID: 'privilege',
  hostIPC: 'privilege',
  procMount: 'privilege',
  seccompProfile: 'privilege',
  rules: 'privilege',
  // persistence
  volumes: 'persistence',
  volumeMounts: 'persistence',
  hostPath: 'persistence',
  persistentVolumeClaim: 'persistence',
  // command execution
  command: 'command',
  args: 'command',
  entrypoint: 'command',
  lifecycle: 'command',
  initContainers: 'command',
  ephemeralContainers: 'command',
  user_data: 'command',
  user_data_base64: 'command',
};

const podSpecPrefixes = ['/spec/template/spec', '/spec', '/spec/jobTemplate/spec/template/spec'];
const podSpecFields: [string, SensitiveCategory][] = [
  ['/containers/*/image', 'image'],
  ['/containers/*/command', 'command'],
  ['/containers/*/args', 'command'],
  ['/containers/*/securityContext', 'privilege'],
  ['/containers/*/ports', 'network'],
  ['/containers/*/volumeMounts', 'persistence'],
  ['/securityContext', 'privilege'],
  ['/serviceAccountName', 'identity'],
  ['/volumes', 'persistence'],
  ['/initContainers', 'command'],
  ['/hostNetwork', 'network'],
];
/** Known locations of sensitive fields; a path that is an ancestor of one covers it. */
export const sensitiveFieldTemplates: readonly { path: string; category: SensitiveCategory }[] = [
  ...podSpecPrefixes.flatMap((prefix) =>
    podSpecFields.map(([p, category]) => ({ path: prefix + p, category })),
  ),
  { path: '/spec/rules', category: 'network' },
  { path: '/spec/ingress', category: 'network' },
  { path: '/spec/egress', category: 'network' },
];

/** What a path covers that §14.1 calls sensitive. */
export interface SensitiveCoverage {
  categories: SensitiveCategory[];
  /** One example field per category, for the message. */
  examples: string[];
}

const roleAnnotation = /(role-arn|iam\.amazonaws\.com\/role)$/;

/** The category of a field name that is sensitive wherever it appears (`image`, `securityContext`, `ingress`…). */
export function sensitiveSegmentCategory(segment: string): SensitiveCategory | undefined {
  return Object.prototype.hasOwnProperty.call(sensitiveSegments, segment)
    ? sensitiveSegments[segment]
    : roleAnnotation.test(segment)
      ? 'identity'
      : undefined;
}

/**
 * Which sensitive fields (identity, image, network, privilege, persistence, command) a path
 * covers: the path is inside such a field, names one (e.g. any `…/image`), or is an ancestor of
 * a known one (e.g. the whole of `/spec/template/spec/containers`). Empty when the path is narrow.
 */
export function sensitiveCoverage(path: string): SensitiveCoverage {
  const segments = splitPointer(path);
  const found = new Map<SensitiveCategory, string>();
  if (segments.length === 0) {
    for (const t of sensitiveFieldTemplates) if (!found.has(t.category)) found.set(t.category, t.path);
    found.set('identity', '/spec/template/spec/serviceAccountName');
  }
  for (const seg of segments) {
    const category = sensitiveSegmentCategory(seg);
    if (category && !found.has(category)) found.set(category, path);
  }
  for (const t of sensitiveFieldTemplates) {
    const ts = splitPointer(t.path);
    if (segments.length < ts.length && segments.every((seg, i) => segmentMatches(seg, ts[i] as string))) {
      if (!found.has(t.category)) found.set(t.category, t.path);
    }
  }
  const order: SensitiveCategory[] = ['identity', 'image', 'network', 'privilege', 'persistence', 'command'];
  const categories = order.filter((c) => found.has(c));
  return { categories, examples: categories.map((c) => found.get(c) as string) };
}
