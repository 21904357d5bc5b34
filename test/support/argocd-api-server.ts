/**
 * A loopback stand-in for the Argo CD API server (plain http on 127.0.0.1) that holds every request
 * to Argo CD's own API description, `assets/swagger.json` of argoproj/argo-cd (read at test time
 * from ../shared/fixtures/argocd): the operation is found by method and path template; path
 * parameters must be present; every query parameter must be one the operation declares, of its
 * type, and required ones must be there; `Authorization: Bearer <token>` must be sent (Argo CD's
 * API takes its token that way). A request that fails a check is answered 400 and recorded as
 * invalid, so tests can assert there was none. A well-formed request with another token is valid
 * and answered 401, as Argo CD does.
 *
 * Responses are what the test puts in, built at test time from the real fixtures: Applications
 * (`v1alpha1Application`) and their managed resources (`applicationManagedResourcesResponse`,
 * `items[]` of `v1alpha1ResourceDiff`, each `*State` a JSON-encoded string). Each is checked
 * against its swagger definition (ajv) when it is put in, so a test cannot serve a shape the real
 * server would not; bodies are serialized once, so serving is cheap (the benchmark uses it).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Ajv, { type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { sharedFixture } from './shared-fixtures';

/** One request as it arrived, and what the swagger says about it. The token itself is not kept. */
export interface RecordedArgoCdRequest {
  method: string;
  /** Path and query as sent (percent-encoding kept). */
  url: string;
  operationId?: string;
  template?: string;
  pathParams: Record<string, string>;
  query: Record<string, string[]>;
  /** Whether an `Authorization: Bearer …` header came, and whether its token was the expected one. */
  bearer: 'none' | 'malformed' | 'wrong' | 'ok';
  valid: boolean;
  reasons: string[];
  status: number;
}

/** A failure to inject: the next `times` requests whose path contains `pathIncludes` get `status`. */
export interface InjectedArgoCdFailure {
  pathIncludes?: string;
  status: number;
  /** The `runtimeError` message; `{authorization}` is replaced by the request's Authorization header (a leaky proxy). */
  message?: string;
  /** A raw body instead of a runtimeError. */
  rawBody?: string;
  /** Wait this long before answering (timeouts). */
  delayMs?: number;
  times?: number;
}

/** A swagger 2.0 parameter (the fields checked). */
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'body' | 'header';
  required?: boolean;
  type?: string;
  items?: { type?: string };
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
}
interface Route {
  method: string;
  template: string;
  op: Operation;
  regex: RegExp;
  names: string[];
  literal: number;
}
interface Swagger {
  swagger: string;
  paths: Record<string, Record<string, Operation>>;
  definitions: Record<string, unknown>;
}

interface Loaded {
  routes: Route[];
  validate: (definition: string, body: unknown) => string[];
}
let loaded: Loaded | undefined;

/** The Argo CD API description, as the fixture holds it. */
export const ARGOCD_SWAGGER_FILE = (): string => sharedFixture('argocd', 'assets__swagger.json');

function load(): Loaded {
  if (loaded) return loaded;
  const spec = JSON.parse(readFileSync(ARGOCD_SWAGGER_FILE(), 'utf8')) as Swagger;
  if (spec.swagger !== '2.0') throw new Error(`expected a Swagger 2.0 description, got ${spec.swagger}`);
  const routes: Route[] = [];
  for (const [template, methods] of Object.entries(spec.paths)) {
    const names: string[] = [];
    // grpc-gateway templates name nested fields (`{application.metadata.name}`): one segment each.
    const source = template
      .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
      .replace(/\\?\{([^}]+)\\?\}/g, (_m, n: string) => {
        names.push(n.replace(/\\/g, ''));
        return '([^/]+)';
      });
    const literal = template.replace(/\{[^}]+\}/g, '').length;
    for (const [method, op] of Object.entries(methods))
      routes.push({
        method: method.toUpperCase(),
        template,
        op,
        regex: new RegExp(`^${source}$`),
        names,
        literal,
      });
  }
  // The most literal template wins (`/api/v1/applications/manifestsWithFiles` over `/{name}`).
  routes.sort((a, b) => b.literal - a.literal);
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  for (const f of ['int32', 'int64', 'byte', 'double', 'float', 'uint64', 'uint32']) ajv.addFormat(f, true);
  ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)) && /^\d{4}-\d{2}-\d{2}T/.test(s));
  ajv.addSchema({ $id: 'argocd-swagger', definitions: spec.definitions });
  const validators = new Map<string, ValidateFunction>();
  const validate = (definition: string, body: unknown): string[] => {
    let v = validators.get(definition);
    if (!v) {
      if (!(definition in spec.definitions))
        throw new Error(`no definition ${definition} in the Argo CD swagger`);
      v = ajv.compile({ $ref: `argocd-swagger#/definitions/${definition}` });
      validators.set(definition, v);
    }
    return v(body) ? [] : (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`);
  };
  loaded = { routes, validate };
  return loaded;
}

/** Reads a YAML (or JSON) fixture of ../shared/fixtures/argocd, at test time. */
export function argoCdFixture(file: string): Record<string, unknown> {
  return parseYaml(readFileSync(sharedFixture('argocd', file), 'utf8')) as Record<string, unknown>;
}

/** The object parts of a Kubernetes object that a ResourceDiff repeats. */
function idOf(obj: Record<string, unknown>): {
  group: string;
  kind: string;
  namespace?: string;
  name: string;
} {
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : 'v1';
  const metadata = (obj.metadata ?? {}) as { name?: string; namespace?: string };
  return {
    group: apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '',
    kind: String(obj.kind),
    ...(metadata.namespace ? { namespace: metadata.namespace } : {}),
    name: String(metadata.name),
  };
}

/**
 * A `v1alpha1ResourceDiff` as Argo CD's ManagedResources answers it: identity from whichever
 * object exists, each state JSON-encoded (`"null"` when the object does not exist on that side).
 * `normalizedLive` defaults to `live` (Argo CD normalizes ignoreDifferences away; the fixtures have none).
 */
export function resourceDiffOf(input: {
  desired?: Record<string, unknown>;
  live?: Record<string, unknown>;
  normalizedLive?: Record<string, unknown>;
  predictedLive?: Record<string, unknown>;
  modified: boolean;
  hook?: boolean;
}): Record<string, unknown> {
  const obj = input.live ?? input.desired;
  if (!obj) throw new Error('a resource diff needs a desired or a live object');
  const id = idOf(obj);
  const live = input.live
    ? (input.live.metadata as { resourceVersion?: string } | undefined)?.resourceVersion
    : undefined;
  return {
    ...id,
    targetState: JSON.stringify(input.desired ?? null),
    liveState: JSON.stringify(input.live ?? null),
    normalizedLiveState: JSON.stringify(input.normalizedLive ?? input.live ?? null),
    ...(input.predictedLive ? { predictedLiveState: JSON.stringify(input.predictedLive) } : {}),
    modified: input.modified,
    ...(input.hook ? { hook: true } : {}),
    ...(live ? { resourceVersion: live } : {}),
  };
}

/** The Argo CD stand-in. */
export interface ArgoCdApiServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  requests: RecordedArgoCdRequest[];
  /** Requests that broke the API description. */
  invalid(): RecordedArgoCdRequest[];
  /**
   * Serves an Application (validated against `v1alpha1Application`) and its managed resources
   * (against `applicationManagedResourcesResponse`). Its `metadata.namespace` is what
   * `appNamespace` must say; without `appNamespace` the server's own namespace is meant.
   */
  setApplication(app: Record<string, unknown>, items: Record<string, unknown>[]): void;
  failNext(f: InjectedArgoCdFailure): void;
  close(): Promise<void>;
}

/** Starts the stand-in. `token` is the only bearer token it accepts; `controllerNamespace` is where apps live by default (Argo CD's own namespace). */
export async function startArgoCdApiServer(opts: {
  token: string;
  controllerNamespace?: string;
}): Promise<ArgoCdApiServer> {
  const { routes, validate } = load();
  const controllerNamespace = opts.controllerNamespace ?? 'argocd';
  const apps = new Map<string, { app: Buffer; managed: Buffer }>();
  const failures: InjectedArgoCdFailure[] = [];
  const requests: RecordedArgoCdRequest[] = [];

  const send = (res: ServerResponse, status: number, body: string | Buffer): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  // grpc-gateway's error body (`runtimeError`) with the gRPC code of the status.
  const GRPC = { 400: 3, 401: 16, 403: 7, 404: 5, 500: 13, 502: 14, 503: 14 } as Record<number, number>;
  const runtimeError = (status: number, message: string): string =>
    JSON.stringify({ error: message, code: GRPC[status] ?? 2, message, details: [] });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const rec: RecordedArgoCdRequest = {
      method,
      url: req.url ?? '',
      pathParams: {},
      query: {},
      bearer: 'none',
      valid: true,
      reasons: [],
      status: 0,
    };
    requests.push(rec);
    for (const k of new Set(url.searchParams.keys())) rec.query[k] = url.searchParams.getAll(k);

    const route = routes.find((r) => r.method === method && r.regex.test(url.pathname));
    if (!route) {
      const other = routes.find((r) => r.regex.test(url.pathname));
      rec.reasons.push(
        other
          ? `${method} is not an operation of ${other.template}`
          : `no path of the Argo CD API matches ${url.pathname}`,
      );
    } else {
      rec.template = route.template;
      rec.operationId = route.op.operationId;
      const m = route.regex.exec(url.pathname)!;
      route.names.forEach((n, i) => (rec.pathParams[n] = decodeURIComponent(m[i + 1] ?? '')));
      const params = route.op.parameters ?? [];
      for (const p of params) {
        if (p.in === 'path' && p.required && !rec.pathParams[p.name])
          rec.reasons.push(`path parameter ${p.name} is empty`);
        if (p.in === 'query' && p.required && !(p.name in rec.query))
          rec.reasons.push(`query parameter ${p.name} is required`);
      }
      for (const [k, values] of Object.entries(rec.query)) {
        const p = params.find((x) => x.in === 'query' && x.name === k);
        if (!p) {
          rec.reasons.push(`query parameter ${k} is not declared by ${route.op.operationId}`);
          continue;
        }
        if (p.type !== 'array' && values.length > 1)
          rec.reasons.push(`query parameter ${k} is given ${values.length} times`);
        const type = p.type === 'array' ? p.items?.type : p.type;
        for (const v of values) {
          if (type === 'boolean' && v !== 'true' && v !== 'false')
            rec.reasons.push(`query parameter ${k} is not a boolean`);
          if (type === 'integer' && !/^-?\d+$/.test(v))
            rec.reasons.push(`query parameter ${k} is not an integer`);
          if (type === 'string' && v === '') rec.reasons.push(`query parameter ${k} is empty`);
        }
      }
      if (method !== 'GET' && method !== 'DELETE' && !params.some((p) => p.in === 'body'))
        rec.reasons.push(`${method} carries no body here`);
    }
    const auth = req.headers.authorization;
    const bearer = auth === undefined ? undefined : /^Bearer ([^\s]+)$/.exec(auth)?.[1];
    rec.bearer =
      auth === undefined
        ? 'none'
        : bearer === undefined
          ? 'malformed'
          : bearer === opts.token
            ? 'ok'
            : 'wrong';
    if (rec.bearer === 'none') rec.reasons.push('no Authorization header (Argo CD takes `Bearer <token>`)');
    if (rec.bearer === 'malformed') rec.reasons.push('the Authorization header is not `Bearer <token>`');
    // Drain any body.
    for await (const chunk of req) void chunk;

    rec.valid = rec.reasons.length === 0;
    if (!rec.valid) {
      rec.status = 400;
      return send(res, 400, runtimeError(400, `invalid request: ${rec.reasons.join('; ')}`));
    }
    const failure = failures.find(
      (f) => f.pathIncludes === undefined || url.pathname.includes(f.pathIncludes),
    );
    if (failure) {
      if (failure.times !== undefined && --failure.times <= 0) failures.splice(failures.indexOf(failure), 1);
      if (failure.delayMs) await new Promise((r) => setTimeout(r, failure.delayMs));
      rec.status = failure.status;
      if (res.destroyed) return;
      const message = (failure.message ?? 'injected failure').replace('{authorization}', auth ?? '');
      return send(res, failure.status, failure.rawBody ?? runtimeError(failure.status, message));
    }
    if (rec.bearer !== 'ok') {
      rec.status = 401;
      return send(res, 401, runtimeError(401, 'invalid session: token signature is invalid'));
    }
    const name = rec.pathParams.name ?? rec.pathParams.applicationName ?? '';
    const ns = rec.query.appNamespace?.[0] ?? controllerNamespace;
    const entry = apps.get(`${ns}/${name}`);
    if (
      !entry ||
      (rec.operationId !== 'ApplicationService_Get' &&
        rec.operationId !== 'ApplicationService_ManagedResources')
    ) {
      rec.status = 404;
      // Argo CD answers an app it cannot find (or may not see) like this.
      return send(res, 404, runtimeError(404, `applications.argoproj.io "${name}" not found`));
    }
    rec.status = 200;
    send(res, 200, rec.operationId === 'ApplicationService_Get' ? entry.app : entry.managed);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, runtimeError(500, (err as Error).message));
    });
  });
  // A test or benchmark may block the loop for seconds (parsing large answers): an idle keep-alive
  // socket closed meanwhile would race the client's next request (ECONNRESET).
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    invalid: () => requests.filter((r) => !r.valid),
    setApplication(app, items) {
      const meta = (app.metadata ?? {}) as { name?: string; namespace?: string };
      if (!meta.name) throw new Error('the application has no metadata.name');
      const appProblems = validate('v1alpha1Application', app);
      if (appProblems.length)
        throw new Error(
          `the application does not fit v1alpha1Application: ${appProblems.slice(0, 5).join('; ')}`,
        );
      const managed = { items };
      const managedProblems = validate('applicationManagedResourcesResponse', managed);
      if (managedProblems.length)
        throw new Error(
          `the managed resources do not fit applicationManagedResourcesResponse: ${managedProblems.slice(0, 5).join('; ')}`,
        );
      // Encoded once: serving large answers then costs the server (in the client's process) next to nothing.
      apps.set(`${meta.namespace ?? controllerNamespace}/${meta.name}`, {
        app: Buffer.from(JSON.stringify(app)),
        managed: Buffer.from(JSON.stringify(managed)),
      });
    },
    failNext(f) {
      failures.push({ ...f });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
