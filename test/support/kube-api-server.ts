/**
 * A loopback stand-in for the Kubernetes API server (plain http on 127.0.0.1), answering with the
 * shapes kube-apiserver uses: APIResourceList discovery, `<Kind>List` list responses (items
 * without apiVersion/kind, `metadata.resourceVersion`), `Status` failures. Every request is
 * checked (method, path shape, bearer token, content-type, query, body shape) and recorded;
 * anything unexpected is answered 400 and recorded as invalid, so tests can assert there was none.
 * Objects are whatever the test puts in (real fixtures from ../shared, read at test time).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  /** The parsed body (JSON or YAML), if any. */
  body: unknown;
  rawBody: string;
  /** The Accept header (a metadata-only read asks for PartialObjectMetadata here). */
  accept: string | undefined;
  /** Request header names (lower case), values left out: the Authorization value is a credential. */
  headerNames: string[];
  /** True when the bearer token appeared anywhere but the Authorization header (path, query, body, another header). */
  tokenElsewhere: boolean;
  status: number;
  valid: boolean;
  /** Why the request was invalid. */
  problem?: string;
}

interface ResourceType {
  group: string; // '' for the core group
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** The resource types this server knows (discovery answers with these). */
const RESOURCES: ResourceType[] = [
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true },
  { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  // Secrets are served metadata-only: any request that could return data is rejected (see route).
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  // External Secrets Operator: the argo-cd health fixtures are v1alpha1, the ESO docs v1. A CRD
  // serves every version of one stored object (conversion strategy None: apiVersion is rewritten).
  {
    group: 'external-secrets.io',
    version: 'v1alpha1',
    plural: 'externalsecrets',
    kind: 'ExternalSecret',
    namespaced: true,
  },
  {
    group: 'external-secrets.io',
    version: 'v1beta1',
    plural: 'externalsecrets',
    kind: 'ExternalSecret',
    namespaced: true,
  },
  {
    group: 'external-secrets.io',
    version: 'v1',
    plural: 'externalsecrets',
    kind: 'ExternalSecret',
    namespaced: true,
  },
  // Flux (versions as in ../shared/fixtures/flux: GA APIs).
  {
    group: 'kustomize.toolkit.fluxcd.io',
    version: 'v1',
    plural: 'kustomizations',
    kind: 'Kustomization',
    namespaced: true,
  },
  {
    group: 'helm.toolkit.fluxcd.io',
    version: 'v2',
    plural: 'helmreleases',
    kind: 'HelmRelease',
    namespaced: true,
  },
  {
    group: 'source.toolkit.fluxcd.io',
    version: 'v1',
    plural: 'gitrepositories',
    kind: 'GitRepository',
    namespaced: true,
  },
  {
    group: 'source.toolkit.fluxcd.io',
    version: 'v1',
    plural: 'ocirepositories',
    kind: 'OCIRepository',
    namespaced: true,
  },
  {
    group: 'source.toolkit.fluxcd.io',
    version: 'v1',
    plural: 'helmrepositories',
    kind: 'HelmRepository',
    namespaced: true,
  },
  {
    group: 'source.toolkit.fluxcd.io',
    version: 'v1',
    plural: 'helmcharts',
    kind: 'HelmChart',
    namespaced: true,
  },
  { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'buckets', kind: 'Bucket', namespaced: true },
];

/** The media type of a metadata-only read (kubectl get --show-labels uses it; so do informers on metadata). */
export const PARTIAL_OBJECT_METADATA = 'as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
const PARTIAL_OBJECT_METADATA_LIST = 'as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

/** Field selectors kube-apiserver supports on Events (besides metadata.name/namespace). */
const EVENT_FIELDS = [
  'metadata.name',
  'metadata.namespace',
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const SERVER_METADATA = ['managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation'];

/** A failure to inject: the next `times` requests matching answer `status` with a Status body. */
export interface InjectedFailure {
  method?: string;
  /** Matches when the path contains this. */
  pathIncludes?: string;
  status: number;
  reason: string;
  message: string;
  times?: number;
}

// Objects are arbitrary Kubernetes JSON; the handlers reach into them by path.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

class BadRequest extends Error {}

function apiVersionOf(r: ResourceType): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

function isRecord(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386 merge (what strategic merge does for maps, which is all a restart patch touches). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const out: Obj = isRecord(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class KubeApiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly objects = new Map<string, Obj>();
  private readonly failures: InjectedFailure[] = [];
  private revision = 9_000_000;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    /** The bearer token every request must carry. */
    readonly token: string,
  ) {}

  /** Starts a server on 127.0.0.1 (random port) that requires `Authorization: Bearer <token>`. */
  static async start(token: string): Promise<KubeApiServer> {
    const holder: { self?: KubeApiServer } = {};
    const server = createServer((req, res) => {
      void holder.self!.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.self = new KubeApiServer(server, `http://127.0.0.1:${port}`, token);
    return holder.self;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Stores an object (a deep copy) as the server's live state. */
  put(obj: Obj): void {
    const type = this.typeOf(obj.apiVersion, obj.kind);
    if (!type) throw new Error(`kube-api-server: unknown type ${obj.apiVersion} ${obj.kind}`);
    const copy = structuredClone(obj);
    this.objects.set(this.key(type, copy.metadata?.namespace, copy.metadata.name), copy);
  }

  /** The live object, or undefined. */
  get(kind: string, namespace: string | undefined, name: string): Obj | undefined {
    const type = RESOURCES.find((r) => r.kind === kind);
    return type ? this.objects.get(this.key(type, namespace, name)) : undefined;
  }

  /** Makes matching requests fail with a Kubernetes Status. */
  inject(failure: InjectedFailure): void {
    this.failures.push({ times: 1, ...failure });
  }

  invalid(): RecordedRequest[] {
    return this.requests.filter((r) => !r.valid);
  }

  /** Recorded requests other than discovery. */
  calls(method?: string): RecordedRequest[] {
    return this.requests.filter(
      (r) => (!method || r.method === method) && !/^\/(api\/v1|apis\/[^/]+\/[^/]+)$/.test(r.path),
    );
  }

  /** Recorded requests for Secrets (all metadata-only, or invalid and answered 400). */
  secretReads(): RecordedRequest[] {
    return this.requests.filter((r) => /^\/api\/v1\/(namespaces\/[^/]+\/)?secrets(\/|$)/.test(r.path));
  }

  /** Forgets the recorded requests. */
  reset(): void {
    this.requests.length = 0;
  }

  /** Forgets everything: objects, injected failures, requests. */
  clear(): void {
    this.objects.clear();
    this.failures.length = 0;
    this.reset();
  }

  private key(type: ResourceType, namespace: string | undefined, name: string): string {
    return `${type.group}/${type.plural}/${type.namespaced ? (namespace ?? '') : ''}/${name}`;
  }

  private typeOf(apiVersion: string, kind: string): ResourceType | undefined {
    return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const otherHeaders = Object.entries(req.headers)
      .filter(([k]) => k !== 'authorization')
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join('\n');
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers['content-type'],
      body: undefined,
      rawBody,
      accept: req.headers.accept,
      headerNames: Object.keys(req.headers).sort(),
      tokenElsewhere: [req.url ?? '', rawBody, otherHeaders].some((t) => t.includes(this.token)),
      status: 0,
      valid: true,
    };
    this.requests.push(record);
    const send = (status: number, body: unknown) => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.headers.authorization !== `Bearer ${this.token}`)
        throw new BadRequest('missing or wrong bearer token');
      if (rawBody) {
        try {
          // Apply bodies are YAML (JSON is YAML); patches are JSON.
          record.body = record.contentType?.includes('yaml') ? parseYaml(rawBody) : JSON.parse(rawBody);
        } catch {
          throw new BadRequest('body does not parse');
        }
      }
      const failure = this.failures.find(
        (f) =>
          (f.times ?? 0) > 0 &&
          (!f.method || f.method === record.method) &&
          (!f.pathIncludes || record.path.includes(f.pathIncludes)),
      );
      if (failure) {
        failure.times = (failure.times ?? 1) - 1;
        return send(failure.status, this.status(failure.status, failure.reason, failure.message));
      }
      const [status, body] = this.route(record);
      send(status, body);
    } catch (err) {
      record.valid = false;
      record.problem = err instanceof Error ? err.message : String(err);
      send(400, this.status(400, 'BadRequest', `kube-api-server: ${record.problem}`));
    }
  }

  private status(code: number, reason: string, message: string): Obj {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  }

  private route(r: RecordedRequest): [number, unknown] {
    const m =
      /^\/(?:api\/(?<cv>v1)|apis\/(?<g>[a-z0-9.-]+)\/(?<v>v[0-9a-z]+))(?:\/namespaces\/(?<ns>[a-z0-9-]+))?(?:\/(?<plural>[a-z]+)(?:\/(?<name>[a-z0-9.-]+))?)?$/.exec(
        r.path,
      );
    if (!m?.groups) throw new BadRequest(`unexpected path ${r.path}`);
    const group = m.groups.g ?? '';
    const version = m.groups.cv ?? m.groups.v ?? '';
    const { ns, plural, name } = m.groups;
    if (!plural) {
      if (ns || r.method !== 'GET') throw new BadRequest(`unexpected ${r.method} ${r.path}`);
      return this.discovery(group, version);
    }
    const type = RESOURCES.find((t) => t.group === group && t.version === version && t.plural === plural);
    if (!type) return [404, this.status(404, 'NotFound', 'the server could not find the requested resource')];
    if (type.namespaced !== Boolean(ns))
      throw new BadRequest(`${plural} is ${type.namespaced ? '' : 'not '}namespaced`);
    if (type.kind === 'Secret') return this.secretMetadata(type, ns!, name, r);
    if (r.method === 'GET' && !name) return this.list(type, ns!, r);
    if (!name) throw new BadRequest(`unexpected ${r.method} on a collection`);
    if (r.method === 'GET') {
      this.expectQuery(r, []);
      const obj = this.objects.get(this.key(type, ns, name));
      // A CRD serves its stored object at every version it lists (conversion strategy None).
      return obj ? [200, { ...obj, apiVersion: apiVersionOf(type) }] : this.notFound(type, name);
    }
    if (r.method === 'PATCH') {
      if (r.contentType === 'application/apply-patch+yaml') return this.apply(type, ns, name, r);
      if (
        r.contentType === 'application/strategic-merge-patch+json' ||
        r.contentType === 'application/merge-patch+json'
      )
        return this.restartPatch(type, ns, name, r);
      throw new BadRequest(`unexpected patch content-type ${r.contentType}`);
    }
    throw new BadRequest(`unexpected ${r.method} ${r.path}`);
  }

  private expectQuery(r: RecordedRequest, allowed: string[], required: Record<string, string> = {}): void {
    for (const k of Object.keys(r.query))
      if (!allowed.includes(k)) throw new BadRequest(`unexpected query parameter ${k}`);
    for (const [k, v] of Object.entries(required))
      if (r.query[k] !== v) throw new BadRequest(`query ${k} must be ${v}, got ${r.query[k] ?? '(none)'}`);
  }

  private notFound(type: ResourceType, name: string): [number, unknown] {
    const gr = type.group ? `${type.plural}.${type.group}` : type.plural;
    return [
      404,
      {
        ...this.status(404, 'NotFound', `${gr} "${name}" not found`),
        details: { name, group: type.group, kind: type.plural },
      },
    ];
  }

  private discovery(group: string, version: string): [number, unknown] {
    const resources = RESOURCES.filter((t) => t.group === group && t.version === version);
    if (resources.length === 0)
      return [404, this.status(404, 'NotFound', 'the server could not find the requested resource')];
    return [
      200,
      {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: group ? `${group}/${version}` : version,
        resources: resources.map((t) => ({
          name: t.plural,
          singularName: t.kind.toLowerCase(),
          namespaced: t.namespaced,
          kind: t.kind,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        })),
      },
    ];
  }

  /**
   * Secrets, metadata only: a GET (one or a list) must ask for PartialObjectMetadata(List) in
   * Accept, and is answered without `data`/`stringData`; anything else (a plain GET that would
   * return data, a watch, a write) is rejected and recorded as invalid.
   */
  private secretMetadata(
    type: ResourceType,
    ns: string,
    name: string | undefined,
    r: RecordedRequest,
  ): [number, unknown] {
    if (r.method !== 'GET')
      throw new BadRequest(`${r.method} on secrets: this server serves Secret metadata only`);
    const wanted = name ? PARTIAL_OBJECT_METADATA : PARTIAL_OBJECT_METADATA_LIST;
    const accepts = (r.accept ?? '').split(',').map((a) => a.replace(/\s+/g, ''));
    // Every alternative must be metadata-only: a fallback to plain JSON could return data.
    if (
      accepts.length === 0 ||
      !accepts.every((a) => a.startsWith('application/json;') && a.includes(wanted))
    )
      throw new BadRequest(
        `a Secret read must ask for ${wanted} only (Accept: ${r.accept ?? '(none)'}): it would return data`,
      );
    const meta = (o: Obj): Obj => structuredClone(o.metadata);
    if (name) {
      this.expectQuery(r, []);
      const obj = this.objects.get(this.key(type, ns, name));
      if (!obj) return this.notFound(type, name);
      return [200, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: meta(obj) }];
    }
    this.expectQuery(r, ['limit', 'continue']);
    const prefix = this.key(type, ns, '');
    return [
      200,
      {
        kind: 'PartialObjectMetadataList',
        apiVersion: 'meta.k8s.io/v1',
        metadata: { resourceVersion: String(this.revision) },
        items: [...this.objects.entries()]
          .filter(([k]) => k.startsWith(prefix))
          .map(([, o]) => ({ metadata: meta(o) })),
      },
    ];
  }

  /** Events only: `involvedObject.kind=HelmRelease,involvedObject.name=x` (equality terms, as kubectl events --for sends). */
  private fieldFilter(type: ResourceType, r: RecordedRequest): (o: Obj) => boolean {
    const selector = r.query.fieldSelector;
    if (selector === undefined) return () => true;
    if (type.kind !== 'Event') throw new BadRequest(`fieldSelector on ${type.plural} is not supported here`);
    const terms = selector.split(',').map((t) => {
      const m = /^([A-Za-z.]+)(==?|!=)(.*)$/.exec(t);
      if (!m || !EVENT_FIELDS.includes(m[1]!)) throw new BadRequest(`field label not supported: ${t}`);
      return { field: m[1]!, negate: m[2] === '!=', value: m[3]! };
    });
    const valueAt = (o: Obj, field: string): string => {
      if (field === 'source') return String(o.source?.component ?? '');
      const v = field.split('.').reduce<unknown>((acc, k) => (isRecord(acc) ? acc[k] : undefined), o);
      return v === undefined || v === null ? '' : String(v);
    };
    return (o) => terms.every((t) => (valueAt(o, t.field) === t.value) !== t.negate);
  }

  private list(type: ResourceType, ns: string, r: RecordedRequest): [number, unknown] {
    this.expectQuery(
      r,
      type.kind === 'Event' ? ['limit', 'continue', 'fieldSelector'] : ['limit', 'continue'],
    );
    if (r.query.limit !== undefined && !/^[1-9]\d*$/.test(r.query.limit))
      throw new BadRequest('limit must be a positive integer');
    if (r.query.continue) throw new BadRequest('no continue token was ever issued');
    const prefix = this.key(type, ns, '');
    const keep = this.fieldFilter(type, r);
    const items = [...this.objects.entries()]
      .filter(([k, o]) => k.startsWith(prefix) && keep(o))
      // kube-apiserver leaves apiVersion and kind off the items of a typed list.
      .map(([, o]) => {
        const { apiVersion: _a, kind: _k, ...rest } = o;
        return rest;
      });
    return [
      200,
      {
        kind: `${type.kind}List`,
        apiVersion: apiVersionOf(type),
        metadata: { resourceVersion: String(this.revision) },
        items,
      },
    ];
  }

  /** A restart patch must touch only the pod template's restartedAt annotation. */
  private restartPatch(
    type: ResourceType,
    ns: string | undefined,
    name: string,
    r: RecordedRequest,
  ): [number, unknown] {
    this.expectQuery(r, []);
    if (!['deployments', 'statefulsets', 'daemonsets'].includes(type.plural))
      throw new BadRequest(`restart patch on ${type.plural}`);
    const b = r.body;
    const only = (v: unknown, key: string) => isRecord(v) && Object.keys(v).length === 1 && key in v;
    if (
      !only(b, 'spec') ||
      !only((b as Obj).spec, 'template') ||
      !only((b as Obj).spec.template, 'metadata') ||
      !only((b as Obj).spec.template.metadata, 'annotations') ||
      !only((b as Obj).spec.template.metadata.annotations, RESTARTED_AT)
    )
      throw new BadRequest('restart patch must touch only spec.template.metadata.annotations[restartedAt]');
    const value = (b as Obj).spec.template.metadata.annotations[RESTARTED_AT];
    if (typeof value !== 'string' || !RFC3339.test(value))
      throw new BadRequest(`restartedAt ${String(value)} is not RFC 3339`);
    const k = this.key(type, ns, name);
    const live = this.objects.get(k);
    if (!live) return this.notFound(type, name);
    const next = mergePatch(live, b) as Obj;
    next.metadata.resourceVersion = String(++this.revision);
    next.metadata.generation = (live.metadata.generation ?? 0) + 1;
    this.objects.set(k, next);
    return [200, next];
  }

  /** Server-side apply: fieldManager=driftplane, force=true, a full object without server-owned fields. */
  private apply(
    type: ResourceType,
    ns: string | undefined,
    name: string,
    r: RecordedRequest,
  ): [number, unknown] {
    this.expectQuery(r, ['fieldManager', 'force'], { fieldManager: 'driftplane', force: 'true' });
    const b = r.body;
    if (!isRecord(b) || !isRecord(b.metadata))
      throw new BadRequest('apply body is not an object with metadata');
    if (b.apiVersion !== apiVersionOf(type) || b.kind !== type.kind)
      throw new BadRequest(`apply body is ${String(b.apiVersion)} ${String(b.kind)}, path is ${type.plural}`);
    if (b.metadata.name !== name) throw new BadRequest('metadata.name does not match the path');
    if (b.metadata.namespace !== undefined && b.metadata.namespace !== ns)
      throw new BadRequest('metadata.namespace does not match the path');
    if ('status' in b) throw new BadRequest('apply body carries status');
    for (const f of SERVER_METADATA)
      if (f in b.metadata) throw new BadRequest(`apply body carries metadata.${f}`);
    const k = this.key(type, ns, name);
    const live = this.objects.get(k);
    // Simplified apply: the applied fields replace the live ones; server-owned fields stay.
    const next: Obj = {
      ...(live ?? {}),
      ...structuredClone(b),
      metadata: {
        ...(live?.metadata ?? {}),
        ...structuredClone(b.metadata),
        namespace: ns,
        uid: live?.metadata?.uid ?? '00000000-0000-4000-8000-000000000001',
        resourceVersion: String(++this.revision),
        generation: (live?.metadata?.generation ?? 0) + 1,
        managedFields: [
          ...((live?.metadata?.managedFields as Obj[] | undefined) ?? []).filter(
            (f) => f.manager !== 'driftplane',
          ),
          {
            manager: 'driftplane',
            operation: 'Apply',
            apiVersion: b.apiVersion,
            fieldsType: 'FieldsV1',
            fieldsV1: {},
          },
        ],
      },
    };
    if (live?.status) next.status = live.status;
    this.objects.set(k, next);
    return [live ? 200 : 201, next];
  }
}
