import { z } from 'zod';
import type { Actor, DriftObservation } from '../finding';
import { matchesBreakGlassRole } from './actor';

/**
 * Kubernetes API-server audit events (`audit.k8s.io/v1` Event, and the older `v1beta1` and
 * key-less shapes still found in archived logs): parsing, the actor of an event, and which event
 * explains a drifted object. Pure: the caller reads the log.
 */

/** `user` / `impersonatedUser` of an audit event (authentication.k8s.io UserInfo). */
export const K8sUserInfoSchema = z.looseObject({
  username: z.string().optional(),
  uid: z.string().optional(),
  groups: z.array(z.string()).optional(),
  /** Authenticator extras; on EKS `arn`, `canonicalArn`, `sessionName`, `accessKeyId`. */
  extra: z.record(z.string(), z.array(z.string())).optional(),
});

/** `objectRef`: the object a request was about. `name` is absent on a create by generateName and on lists. */
export const K8sObjectRefSchema = z.looseObject({
  resource: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string().optional(),
  uid: z.string().optional(),
  apiGroup: z.string().optional(),
  apiVersion: z.string().optional(),
  resourceVersion: z.string().optional(),
  subresource: z.string().optional(),
});

/** One audit event as the API server writes it; only the fields correlation reads are named, the rest are kept. */
export const K8sAuditEventSchema = z.looseObject({
  kind: z.string().optional(),
  apiVersion: z.string().optional(),
  level: z.string().optional(),
  auditID: z.string().optional(),
  stage: z.string().optional(),
  requestURI: z.string().optional(),
  verb: z.string().min(1),
  user: K8sUserInfoSchema,
  impersonatedUser: K8sUserInfoSchema.optional(),
  sourceIPs: z.array(z.string()).optional(),
  userAgent: z.string().optional(),
  objectRef: K8sObjectRefSchema.optional(),
  responseStatus: z
    .looseObject({
      code: z.number().optional(),
      status: z.string().optional(),
      reason: z.string().optional(),
    })
    .optional(),
  requestObject: z.unknown().optional(),
  responseObject: z.unknown().optional(),
  requestReceivedTimestamp: z.string().optional(),
  stageTimestamp: z.string().optional(),
  /** Pre-1.10 events (no `apiVersion` key) carry `timestamp` and `metadata.creationTimestamp` instead. */
  timestamp: z.string().optional(),
  metadata: z.looseObject({ creationTimestamp: z.string().optional() }).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
/** One audit event. */
export type K8sAuditEvent = z.infer<typeof K8sAuditEventSchema>;

/** What correlation reads of an event, normalized: who, with what, did what to which object, when, with what result. */
export interface K8sAuditChange {
  auditID?: string;
  stage?: string;
  verb: string;
  user: { username: string; uid?: string; groups: string[]; extra?: Record<string, string[]> };
  userAgent?: string;
  objectRef: {
    apiGroup: string;
    apiVersion?: string;
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  };
  requestReceivedTimestamp?: string;
  stageTimestamp?: string;
  /** When the request completed (stageTimestamp, else requestReceivedTimestamp, else the old `timestamp`), ISO-8601 UTC. */
  eventTime: string;
  responseStatus?: { code?: number; status?: string };
}

/** An audit document could not be read as events. */
export class K8sAuditFormatError extends Error {
  override readonly name = 'K8sAuditFormatError';
  constructor(
    /** What is wrong, without the source. */
    readonly detail: string,
    readonly source: string,
    /** Where in the source: `line 3`, `/items/2/verb`. */
    readonly where?: string,
  ) {
    super(`${source}${where ? ` ${where}` : ''}: ${detail}`);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function nameOf(obj: unknown): string | undefined {
  const md = isRecord(obj) && isRecord(obj.metadata) ? obj.metadata : undefined;
  return typeof md?.name === 'string' && md.name ? md.name : undefined;
}

/** Validates and normalizes one event; `where` names it in errors. */
export function parseK8sAuditEvent(item: unknown, source: string, where = ''): K8sAuditChange {
  const parsed = K8sAuditEventSchema.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue && issue.path.length ? `/${issue.path.map(String).join('/')}` : '';
    // `line 3 /verb`, `/items/2/verb`
    const place = where && at && !where.startsWith('/') ? `${where} ${at}` : `${where}${at}`;
    throw new K8sAuditFormatError(
      `not an audit event: ${issue?.message ?? 'invalid'}`,
      source,
      place || undefined,
    );
  }
  const e = parsed.data;
  if (e.kind !== undefined && e.kind !== 'Event')
    throw new K8sAuditFormatError(
      `kind ${JSON.stringify(e.kind)} is not an audit Event`,
      source,
      where || undefined,
    );
  if (e.apiVersion !== undefined && !e.apiVersion.startsWith('audit.k8s.io/')) {
    throw new K8sAuditFormatError(
      `apiVersion ${JSON.stringify(e.apiVersion)} is not audit.k8s.io`,
      source,
      where || undefined,
    );
  }
  const raw = e.stageTimestamp ?? e.requestReceivedTimestamp ?? e.timestamp ?? e.metadata?.creationTimestamp;
  const ms = raw === undefined ? Number.NaN : Date.parse(raw);
  if (Number.isNaN(ms))
    throw new K8sAuditFormatError(
      'no stageTimestamp, requestReceivedTimestamp or timestamp to date the event',
      source,
      where || undefined,
    );
  const ref = e.objectRef ?? {};
  // A create names its object in the request or the response, not in objectRef, when the name was generated.
  const name = ref.name || nameOf(e.responseObject) || nameOf(e.requestObject);
  return {
    ...(e.auditID ? { auditID: e.auditID } : {}),
    ...(e.stage ? { stage: e.stage } : {}),
    verb: e.verb,
    user: {
      username: e.user.username ?? '',
      ...(e.user.uid ? { uid: e.user.uid } : {}),
      groups: e.user.groups ?? [],
      ...(e.user.extra ? { extra: e.user.extra } : {}),
    },
    ...(e.userAgent ? { userAgent: e.userAgent } : {}),
    objectRef: {
      apiGroup: ref.apiGroup ?? '',
      ...(ref.apiVersion ? { apiVersion: ref.apiVersion } : {}),
      ...(ref.resource ? { resource: ref.resource } : {}),
      ...(ref.subresource ? { subresource: ref.subresource } : {}),
      ...(ref.namespace ? { namespace: ref.namespace } : {}),
      ...(name ? { name } : {}),
    },
    ...(e.requestReceivedTimestamp ? { requestReceivedTimestamp: e.requestReceivedTimestamp } : {}),
    ...(e.stageTimestamp ? { stageTimestamp: e.stageTimestamp } : {}),
    eventTime: new Date(ms).toISOString(),
    ...(e.responseStatus
      ? {
          responseStatus: {
            ...(e.responseStatus.code !== undefined ? { code: e.responseStatus.code } : {}),
            ...(e.responseStatus.status ? { status: e.responseStatus.status } : {}),
          },
        }
      : {}),
  };
}

/**
 * Reads a parsed audit document in any of its shapes: an `EventList` (`{"kind":"EventList","items":[...]}`,
 * what the webhook backend posts), a JSON array of events, or one event.
 */
export function parseK8sAuditDocument(doc: unknown, source: string): K8sAuditChange[] {
  if (Array.isArray(doc)) return doc.map((item, i) => parseK8sAuditEvent(item, source, `/${i}`));
  if (isRecord(doc) && (doc.kind === 'EventList' || (doc.kind === undefined && Array.isArray(doc.items)))) {
    if (!Array.isArray(doc.items)) throw new K8sAuditFormatError('an EventList without items', source);
    return doc.items.map((item, i) => parseK8sAuditEvent(item, source, `/items/${i}`));
  }
  if (isRecord(doc)) return [parseK8sAuditEvent(doc, source)];
  throw new K8sAuditFormatError('expected an audit Event, an EventList or an array of events', source);
}

/**
 * Parses audit log text: JSON lines (one event per line, what the log backend writes), or one JSON
 * document (an event, an array, an EventList). A last line without its newline that is not JSON
 * is a line the API server is still writing and is left for the next read; any other bad line is
 * a K8sAuditFormatError naming its line.
 */
export function parseK8sAuditText(text: string, source: string): K8sAuditChange[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  let whole: unknown;
  let parsedWhole = false;
  try {
    whole = JSON.parse(trimmed);
    parsedWhole = true;
  } catch (err) {
    if (!trimmed.includes('\n')) throw new K8sAuditFormatError(`not JSON: ${jsonMessage(err)}`, source);
  }
  if (parsedWhole) return parseK8sAuditDocument(whole, source);
  const lines = text.split('\n');
  const out: K8sAuditChange[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch (err) {
      if (i === lines.length - 1) return; // still being written
      throw new K8sAuditFormatError(`not JSON: ${jsonMessage(err)}`, source, `line ${i + 1}`);
    }
    try {
      out.push(...parseK8sAuditDocument(doc, source));
    } catch (err) {
      if (err instanceof K8sAuditFormatError)
        throw new K8sAuditFormatError(err.detail, source, `line ${i + 1}${err.where ? ` ${err.where}` : ''}`);
      throw err;
    }
  });
  return out;
}

// V8 quotes the start of the text in its message; an audit log's content is not for error messages.
const jsonMessage = (err: unknown) =>
  (err as Error).message.replace(/"[\s\S]*" is not valid JSON/, 'not valid JSON');

/** Verbs that change an object. */
export const MUTATING_VERBS = ['create', 'update', 'patch', 'delete'] as const;

/**
 * True when the event is a completed, successful change of an object: a mutating verb, at stage
 * ResponseComplete, with a 2xx response (or `status: Success` when no code was recorded). Writes
 * to the `status` subresource are the controller's report, never a change of what Git declares.
 */
export function isSuccessfulChange(e: K8sAuditChange): boolean {
  if (!(MUTATING_VERBS as readonly string[]).includes(e.verb)) return false;
  if (e.stage !== 'ResponseComplete') return false;
  if (e.objectRef.subresource === 'status') return false;
  const code = e.responseStatus?.code;
  if (code !== undefined) return code >= 200 && code < 300;
  return e.responseStatus?.status === 'Success';
}

/** Who an audit event's actor is, as the decision table tells actors apart. */
export type K8sActorType = Actor['type'];

/** Identities the classification must know; all optional, matched case-sensitively. */
export interface K8sActorConfig {
  /** IAM role ARNs whose sessions are break-glass (registry `breakGlassRoles`): matched against `user.extra.arn`/`canonicalArn` (EKS). */
  breakGlassRoleArns?: readonly string[];
  /** Usernames and groups that are break-glass identities. */
  breakGlassUsers?: readonly string[];
  breakGlassGroups?: readonly string[];
  /** CI/GitOps identities besides the built-in ones: a username, a service-account name, or `system:serviceaccount:<ns>:<name>`. */
  ciIdentities?: readonly string[];
  /** Operators and other controllers besides the built-in ones (same forms). */
  controllerIdentities?: readonly string[];
}

/** CI and GitOps agents that apply what Git says (matched as a name or a dash-separated part of one). */
export const DEFAULT_CI_IDENTITIES = [
  'argocd-application-controller',
  'kustomize-controller',
  'helm-controller',
  'github-actions',
  'gitlab-runner',
  'jenkins',
  'atlantis',
  'tekton-pipelines-controller',
  'spinnaker',
] as const;

/** Built-in control-plane identities. */
const CONTROL_PLANE_USERS = [
  'system:kube-controller-manager',
  'system:kube-scheduler',
  'system:apiserver',
  'system:kube-proxy',
  'kube-apiserver',
];
const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):(.+)$/;
// The product in `name/version (os/arch) ...`: a controller or an operator names itself so.
const CONTROLLER_AGENT = /^[\w.-]*(controller|operator|controller-manager|scheduler)(\/|$)/i;

function nameMatches(entry: string, username: string, saName: string | undefined): boolean {
  if (entry === username || (saName !== undefined && entry === saName)) return true;
  const esc = entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // `github-actions-deployer`, `ci-jenkins`: the entry as whole dash-separated parts of the name.
  const part = new RegExp(`(^|-)${esc}($|-)`);
  return part.test(saName ?? username);
}

/**
 * Classifies the actor of an event, in this order:
 * - `break-glass`: a configured break-glass user or group, or an EKS session of a break-glass role;
 * - `ci`: a CI/GitOps identity (Argo CD's application controller, Flux's kustomize/helm controllers,
 *   GitHub Actions, ... and `config.ciIdentities`), checked before controllers because those
 *   agents are controllers that apply Git;
 * - `controller`: the control plane (`system:kube-controller-manager`, `system:kube-scheduler`,
 *   `system:node:*`), any service account of `kube-system`, a service account named `*-controller`
 *   or `*-operator` or whose user agent is a controller's or operator's, and `config.controllerIdentities`;
 * - `human`: any other user that is not a `system:` identity (people authenticate as themselves:
 *   OIDC, client certificates, cloud IAM mappings);
 * - `unknown`: other service accounts (a token in some pod: nobody in particular).
 */
export function classifyK8sActor(
  e: Pick<K8sAuditChange, 'user' | 'userAgent'>,
  config: K8sActorConfig = {},
): K8sActorType {
  const username = e.user.username;
  const groups = e.user.groups;
  const sa = SERVICE_ACCOUNT.exec(username);
  const saNamespace = sa?.[1];
  const saName = sa?.[2];
  const extraArns = [...(e.user.extra?.arn ?? []), ...(e.user.extra?.canonicalArn ?? [])];
  if (
    (config.breakGlassUsers ?? []).includes(username) ||
    groups.some((g) => (config.breakGlassGroups ?? []).includes(g)) ||
    matchesBreakGlassRole(extraArns, config.breakGlassRoleArns ?? [])
  )
    return 'break-glass';
  if (
    [...DEFAULT_CI_IDENTITIES, ...(config.ciIdentities ?? [])].some((c) => nameMatches(c, username, saName))
  )
    return 'ci';
  if ((config.controllerIdentities ?? []).some((c) => nameMatches(c, username, saName))) return 'controller';
  if (CONTROL_PLANE_USERS.includes(username) || username.startsWith('system:node:')) return 'controller';
  if (sa) {
    if (
      saNamespace === 'kube-system' ||
      /-(controller|operator)$/.test(saName ?? '') ||
      CONTROLLER_AGENT.test(e.userAgent ?? '')
    )
      return 'controller';
    return 'unknown';
  }
  if (username === '' || username.startsWith('system:')) return 'unknown';
  return 'human';
}

/** The object a Kubernetes observation names: `Kind/namespace/name` (namespace `_` when cluster-scoped). */
export interface K8sObjectTarget {
  kind: string;
  /** Undefined for a cluster-scoped object. */
  namespace?: string;
  name: string;
}

/** Reads a `Kind/namespace/name` resource reference ({@link manifestRef}); undefined for anything else (IaC addresses, `unit/…`). */
export function k8sTargetOf(resourceRef: string): K8sObjectTarget | undefined {
  const m = /^([A-Z][A-Za-z0-9]*)\/([^/]+)\/([^/]+)$/.exec(resourceRef);
  if (!m) return undefined;
  const [, kind, ns, name] = m as unknown as [string, string, string, string];
  return { kind, ...(ns === '_' ? {} : { namespace: ns }), name };
}

// Kinds whose plural is not the regular English one (and the common ones, to read at a glance).
const PLURALS: Record<string, string> = {
  Endpoints: 'endpoints',
  Ingress: 'ingresses',
  IngressClass: 'ingressclasses',
  NetworkPolicy: 'networkpolicies',
  PodSecurityPolicy: 'podsecuritypolicies',
  StorageClass: 'storageclasses',
  PriorityClass: 'priorityclasses',
  RuntimeClass: 'runtimeclasses',
  ResourceQuota: 'resourcequotas',
  Policy: 'policies',
};

/** The resource (plural, lower case) of a kind, as audit events' `objectRef.resource` names it. */
export function resourceOfKind(kind: string): string {
  const known = PLURALS[kind];
  if (known) return known;
  const lower = kind.toLowerCase();
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  return `${lower}s`;
}

/**
 * The successful changes of the target object at or before `detectedAt`, oldest first: same
 * resource (kind → plural), namespace and name. A change without a name (a create by
 * generateName whose response was not logged) matches nothing.
 */
export function matchK8sAuditEvents(
  target: K8sObjectTarget,
  events: readonly K8sAuditChange[],
  detectedAt?: string,
): K8sAuditChange[] {
  const resource = resourceOfKind(target.kind);
  const limit = detectedAt === undefined ? undefined : Date.parse(detectedAt);
  return events
    .filter(
      (e) =>
        isSuccessfulChange(e) &&
        e.objectRef.resource === resource &&
        (e.objectRef.namespace ?? undefined) === target.namespace &&
        e.objectRef.name === target.name &&
        (limit === undefined || Date.parse(e.eventTime) <= limit),
    )
    .sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime));
}

/** The audit correlation an observation carries, from one event. */
export function k8sAuditCorrelation(
  e: K8sAuditChange,
  config: K8sActorConfig = {},
): NonNullable<DriftObservation['auditCorrelation']> {
  return {
    actor: { id: e.user.username || 'unknown', type: classifyK8sActor(e, config) },
    source: 'k8s-audit',
    eventTime: e.eventTime,
    eventName: e.objectRef.subresource ? `${e.verb} ${e.objectRef.subresource}` : e.verb,
  };
}

/**
 * Correlates a Kubernetes observation with the audit log: the latest successful change of its
 * object at or before detection (the one that left the object as it is), or null. `matched`
 * counts every matching change. Undefined target (not a `Kind/namespace/name` ref): null.
 */
export function correlateK8sObservation(
  o: Pick<DriftObservation, 'resourceRef' | 'detectedAt'>,
  events: readonly K8sAuditChange[],
  config: K8sActorConfig = {},
): { auditCorrelation: NonNullable<DriftObservation['auditCorrelation']> | null; matched: number } {
  const target = k8sTargetOf(o.resourceRef);
  if (!target) return { auditCorrelation: null, matched: 0 };
  const matched = matchK8sAuditEvents(target, events, o.detectedAt);
  const last = matched[matched.length - 1];
  return { auditCorrelation: last ? k8sAuditCorrelation(last, config) : null, matched: matched.length };
}
