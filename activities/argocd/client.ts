import { readTokenRef, TokenUnavailable } from '../token-ref';
import type { TokenRef } from '../../domain/registry/schemas';

/**
 * A small client of the Argo CD REST API (issue 11 §3), on `fetch`: the two reads drift detection
 * needs, as `assets/swagger.json` of argoproj/argo-cd describes them.
 * - `GET /api/v1/applications/{name}` (ApplicationService_Get): a `v1alpha1Application`;
 * - `GET /api/v1/applications/{applicationName}/managed-resources` (ApplicationService_ManagedResources):
 *   an `applicationManagedResourcesResponse`, `items[]` of `v1alpha1ResourceDiff`.
 *
 * The bearer token is read from its reference (an environment variable or a mounted file) at every
 * call and goes only into the Authorization header: it is scrubbed from every error this module
 * raises, and never logged.
 */

/** `v1alpha1HealthStatus` / `v1alpha1AppHealthStatus` (the fields read here). */
export interface ArgoCdHealth {
  status?: string;
  message?: string;
}

/** `applicationv1alpha1ResourceStatus`: one entry of `status.resources`. */
export interface ArgoCdResourceStatus {
  group?: string;
  version?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  status?: string;
  health?: ArgoCdHealth;
  hook?: boolean;
  requiresPruning?: boolean;
}

/** `v1alpha1ResourceResult`: what the last operation did to one resource. */
export interface ArgoCdResourceResult {
  group?: string;
  version?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  status?: string;
  message?: string;
  hookPhase?: string;
  syncPhase?: string;
}

/** `v1alpha1OperationState` (the fields read here). */
export interface ArgoCdOperationState {
  phase?: string;
  message?: string;
  retryCount?: number | string;
  startedAt?: string;
  finishedAt?: string;
  syncResult?: { revision?: string; resources?: ArgoCdResourceResult[] };
}

/** `v1alpha1Application` (the fields drift detection reads; the rest is kept but untyped). */
export interface ArgoCdApplication {
  metadata?: { name?: string; namespace?: string; [k: string]: unknown };
  spec?: Record<string, unknown>;
  status?: {
    sync?: { status?: string; revision?: string; revisions?: string[] };
    health?: ArgoCdHealth;
    operationState?: ArgoCdOperationState;
    resources?: ArgoCdResourceStatus[];
    conditions?: { type?: string; message?: string }[];
    reconciledAt?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** `v1alpha1ResourceDiff`: each `*State` is the JSON text of an object (or `"null"`). */
export interface ArgoCdResourceDiff {
  group?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  hook?: boolean;
  modified?: boolean;
  resourceVersion?: string;
  targetState?: string;
  liveState?: string;
  normalizedLiveState?: string;
  predictedLiveState?: string;
  /** Deprecated by Argo CD; not read. */
  diff?: string;
}

/** `applicationManagedResourcesResponse`. */
export interface ArgoCdManagedResources {
  items: ArgoCdResourceDiff[];
}

/** Base of every error this client raises: which operation failed, the HTTP status when there was one. */
export class ArgoCdError extends Error {
  override name = 'ArgoCdError';
  constructor(
    message: string,
    /** `ApplicationService_Get`, `ApplicationService_ManagedResources` */
    readonly operation: string,
    /** The HTTP status, when the server answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** 401: the token was missing, expired or not accepted. */
export class ArgoCdUnauthorized extends ArgoCdError {
  override name = 'ArgoCdUnauthorized';
}

/** 403: the token's account may not read the application (Argo CD RBAC; also its answer for an app the account cannot see). */
export class ArgoCdForbidden extends ArgoCdError {
  override name = 'ArgoCdForbidden';
}

/** 404: no such application (in that namespace). */
export class ArgoCdNotFound extends ArgoCdError {
  override name = 'ArgoCdNotFound';
}

/** 5xx, 429, a network failure or a timeout: the server could not answer now. */
export class ArgoCdUnavailable extends ArgoCdError {
  override name = 'ArgoCdUnavailable';
}

/** Any other 4xx (the request was refused as wrong). */
export class ArgoCdRequestRejected extends ArgoCdError {
  override name = 'ArgoCdRequestRejected';
}

/** A 200 whose body is not the documented shape (not JSON, or not an object of the expected kind). */
export class ArgoCdBadResponse extends ArgoCdError {
  override name = 'ArgoCdBadResponse';
}

/** The token reference could not be read (variable unset, file missing or empty). The token itself is never in the message. */
export class ArgoCdCredentialsError extends ArgoCdError {
  override name = 'ArgoCdCredentialsError';
}

/** Where the token comes from, and how to read it (tests give their own environment). */
export interface TokenSource {
  ref: TokenRef;
  /** Default `process.env`, read at each call. */
  env?: NodeJS.ProcessEnv;
}

/** What {@link createArgoCdClient} needs. */
export interface ArgoCdClientOptions {
  /** The Argo CD server URL (`https://argocd.example.com`, optionally with a path prefix). */
  server: string;
  token: TokenSource;
  /** Per request, including reading the body. Default 30 s. */
  timeoutMs?: number;
  /** Default the global `fetch`. */
  fetch?: typeof fetch;
}

/** Options of one application read. */
export interface AppQuery {
  /** Argo CD `appNamespace` (apps in any namespace); sent only when set. */
  appNamespace?: string;
}

/** The two reads. */
export interface ArgoCdClient {
  readonly server: string;
  getApplication(name: string, q?: AppQuery): Promise<ArgoCdApplication>;
  managedResources(applicationName: string, q?: AppQuery): Promise<ArgoCdManagedResources>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Characters a header value may not hold (undici would throw, echoing the value). */

/**
 * Reads a bearer token from its reference, now. Trailing whitespace (a file's newline) is dropped.
 * Throws {@link ArgoCdCredentialsError} naming the reference, never a value.
 */
export async function readBearerToken(src: TokenSource, operation = 'token'): Promise<string> {
  try {
    return await readTokenRef(src.ref, src.env ?? process.env);
  } catch (err) {
    if (err instanceof TokenUnavailable) throw new ArgoCdCredentialsError(err.message, operation);
    throw err;
  }
}

/** Replaces every occurrence of the token (and its Bearer header form) in a text. */
function scrub(text: string, token: string | undefined): string {
  if (!token) return text;
  return text.split(token).join('[REDACTED]');
}

/** The message of Argo CD's error body (`runtimeError`: code, error, message), or a short excerpt of the text. */
function errorMessageOf(body: string): string {
  try {
    const e = JSON.parse(body) as { message?: unknown; error?: unknown };
    const m =
      typeof e.message === 'string' && e.message ? e.message : typeof e.error === 'string' ? e.error : '';
    if (m) return m.slice(0, 500);
  } catch {
    // not JSON: the text itself (a proxy's HTML page, say)
  }
  return body.replace(/\s+/g, ' ').trim().slice(0, 200);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the few shape facts the detector relies on; a wrong shape is a bad response, never "no drift". */
function checkApplication(body: unknown, op: string): ArgoCdApplication {
  if (!isRecord(body)) throw new ArgoCdBadResponse('the application is not a JSON object', op, 200);
  const status = body.status;
  if (status !== undefined && !isRecord(status))
    throw new ArgoCdBadResponse('status is not an object', op, 200);
  if (status && status.resources !== undefined && !Array.isArray(status.resources))
    throw new ArgoCdBadResponse('status.resources is not a list', op, 200);
  return body as ArgoCdApplication;
}

const STATE_FIELDS = ['targetState', 'liveState', 'normalizedLiveState', 'predictedLiveState'] as const;

function checkManaged(body: unknown, op: string): ArgoCdManagedResources {
  if (!isRecord(body)) throw new ArgoCdBadResponse('the managed resources are not a JSON object', op, 200);
  // grpc-gateway leaves out an empty repeated field: no `items` is an application without resources.
  const items = body.items ?? [];
  if (!Array.isArray(items)) throw new ArgoCdBadResponse('items is not a list', op, 200);
  for (let i = 0; i < items.length; i++) {
    const it: unknown = items[i];
    if (!isRecord(it)) throw new ArgoCdBadResponse(`items[${i}] is not an object`, op, 200);
    for (const f of STATE_FIELDS) {
      const v = it[f];
      if (v !== undefined && typeof v !== 'string')
        throw new ArgoCdBadResponse(`items[${i}].${f} is not a JSON-encoded string`, op, 200);
    }
    if (it.modified !== undefined && typeof it.modified !== 'boolean')
      throw new ArgoCdBadResponse(`items[${i}].modified is not a boolean`, op, 200);
  }
  return { items: items as ArgoCdResourceDiff[] };
}

/**
 * The Argo CD API client. Each call reads the token, sends one GET with `Authorization: Bearer`,
 * and maps failures onto named errors: 401 {@link ArgoCdUnauthorized}, 403 {@link ArgoCdForbidden},
 * 404 {@link ArgoCdNotFound}, 5xx/429/network/timeout {@link ArgoCdUnavailable}, other 4xx
 * {@link ArgoCdRequestRejected}, a malformed 200 {@link ArgoCdBadResponse}.
 */
export function createArgoCdClient(opts: ArgoCdClientOptions): ArgoCdClient {
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let base: URL;
  try {
    base = new URL(opts.server);
  } catch {
    throw new ArgoCdRequestRejected(
      `the Argo CD server ${JSON.stringify(opts.server)} is not a URL`,
      'client',
    );
  }
  const prefix = base.pathname.replace(/\/+$/, '');

  const get = async (
    op: string,
    path: string,
    query: Record<string, string | undefined>,
  ): Promise<unknown> => {
    const url = new URL(base.origin);
    url.pathname = `${prefix}${path}`;
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    const where = `${op} ${url.pathname}`;
    const token = await readBearerToken(opts.token, op);
    let text: string;
    let status: number;
    try {
      const res = await doFetch(url, {
        method: 'GET',
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      status = res.status;
      // Buffer decoding is several times faster than Response.text() on answers of tens of MB.
      text = Buffer.from(await res.arrayBuffer()).toString('utf8');
    } catch (err) {
      const e = err as Error;
      const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
      const cause = (e.cause as { code?: string; message?: string } | undefined) ?? undefined;
      const why = timedOut
        ? `timed out after ${timeoutMs} ms`
        : `${cause?.code ?? e.name}: ${cause?.message ?? e.message}`;
      throw new ArgoCdUnavailable(scrub(`Argo CD ${where} failed: ${why}`, token), op);
    }
    if (status < 200 || status >= 300) {
      const msg = scrub(`Argo CD ${where} answered ${status}: ${errorMessageOf(text)}`, token);
      if (status === 401) throw new ArgoCdUnauthorized(msg, op, status);
      if (status === 403) throw new ArgoCdForbidden(msg, op, status);
      if (status === 404) throw new ArgoCdNotFound(msg, op, status);
      if (status >= 500 || status === 429 || status === 408) throw new ArgoCdUnavailable(msg, op, status);
      throw new ArgoCdRequestRejected(msg, op, status);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ArgoCdBadResponse(
        `Argo CD ${where} answered ${status} with a body that is not JSON`,
        op,
        status,
      );
    }
  };

  return {
    server: opts.server,
    async getApplication(name, q = {}) {
      const op = 'ApplicationService_Get';
      return checkApplication(
        await get(op, `/api/v1/applications/${encodeURIComponent(name)}`, { appNamespace: q.appNamespace }),
        op,
      );
    },
    async managedResources(applicationName, q = {}) {
      const op = 'ApplicationService_ManagedResources';
      return checkManaged(
        await get(op, `/api/v1/applications/${encodeURIComponent(applicationName)}/managed-resources`, {
          appNamespace: q.appNamespace,
        }),
        op,
      );
    },
  };
}
