import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import Ajv, { type ValidateFunction } from 'ajv';

/**
 * A fake GitHub REST API on 127.0.0.1 that holds every request to GitHub's official OpenAPI
 * description (`@octokit/openapi`, api.github.com): the operation is found by method and path
 * template, path and query parameters are checked against their schemas, the JSON body against
 * the operation's requestBody schema (ajv). A request that matches no operation or fails a check
 * is answered 422 with the reasons and recorded as invalid. Response bodies start from the
 * spec's own examples for the operation and are adjusted by a small in-memory Git/PR state
 * (refs, commits, trees, pull requests, labels), so a flow of calls is coherent.
 */

/** One request as it arrived, with what the spec says about it. */
export interface RecordedRequest {
  method: string;
  /** The raw path (percent-encoding kept) and query string. */
  url: string;
  /** The spec's operationId (`git/create-ref`), when one matched. */
  operationId?: string;
  /** The spec's path template, when one matched. */
  template?: string;
  pathParams: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  /** The Authorization header as sent (tests check a token came, and compare it with nothing else). */
  authorization?: string;
  valid: boolean;
  reasons: string[];
  /** The status the fake answered. */
  status: number;
}

/** A queued answer for the next call of an operation (a 502, a 403 secondary rate limit, ...). */
export interface QueuedAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Runs when this answer is given (to change the state as a concurrent actor would). */
  effect?: () => void;
}

/** A pull request in the fake's state. */
export interface FakePull {
  number: number;
  title: string;
  body: string;
  head: string;
  headSha: string;
  base: string;
  state: 'open' | 'closed';
  merged: boolean;
  mergedAt?: string;
  mergedBy?: string;
  mergeCommitSha?: string;
  closedAt?: string;
  labels: string[];
  reviewers: string[];
  teams: string[];
}

interface RepoState {
  owner: string;
  name: string;
  id: number;
  defaultBranch: string;
  /** `heads/main` → commit sha. */
  refs: Map<string, string>;
  commits: Map<string, { tree: string; parents: string[]; message: string; date: string }>;
  /** tree sha → (path → blob sha). Trees are kept flat: paths from the root. */
  trees: Map<string, Map<string, string>>;
  blobs: Map<string, string>;
  pulls: FakePull[];
}

type Json = Record<string, unknown>;
type Spec = { paths: Record<string, Record<string, Operation>>; components: Json };
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Json;
  'x-multi-segment'?: boolean;
}
interface Operation {
  operationId: string;
  parameters?: Array<Parameter | { $ref: string }>;
  requestBody?: Json;
  responses: Record<string, Json>;
}
interface Route {
  method: string;
  template: string;
  op: Operation;
  params: Parameter[];
  regex: RegExp;
  names: string[];
  literal: number;
}

const SPEC_FILE = createRequire(__filename).resolve('@octokit/openapi/generated/api.github.com.json');
const FORMATS = ['date-time', 'date', 'uri', 'uri-template', 'email', 'int32', 'int64', 'double', 'binary', 'repo.nwo', 'timestamp'];

/** Everything derived from the spec, built once per process (parsing 13 MB and compiling take a second). */
interface Loaded {
  spec: Spec;
  routes: Route[];
  body: Ajv;
  params: Ajv;
  validators: Map<string, ValidateFunction>;
}
let loaded: Loaded | undefined;

const pointerOf = (segs: string[]) => '#/' + segs.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

function resolve<T>(spec: Spec, node: T | { $ref: string }): T {
  let n: unknown = node;
  while (n && typeof n === 'object' && typeof (n as { $ref?: unknown }).$ref === 'string') {
    const ref = (n as { $ref: string }).$ref;
    n = ref
      .replace(/^#\//, '')
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((acc, k) => (acc as Json | undefined)?.[k], spec);
  }
  return n as T;
}

/** A copy of `schema` with every `$ref` into the spec replaced (parameter schemas are small and acyclic). */
function deref(spec: Spec, schema: unknown, depth = 0): unknown {
  if (depth > 20 || !schema || typeof schema !== 'object') return schema;
  if (Array.isArray(schema)) return schema.map((s) => deref(spec, s, depth + 1));
  const r = resolve<Json>(spec, schema as Json);
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, deref(spec, v, depth + 1)]));
}

function load(): Loaded {
  if (loaded) return loaded;
  const spec = JSON.parse(readFileSync(SPEC_FILE, 'utf8')) as Spec;
  // GitHub's description is OpenAPI 3.0 (nullable, example, x-*): strict mode off; formats are
  // checked below by a few real tests where a request could get them wrong, the rest accepted.
  const mk = (coerceTypes: boolean) => {
    const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, coerceTypes });
    for (const f of FORMATS) ajv.addFormat(f, true);
    ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)) && /^\d{4}-\d{2}-\d{2}T/.test(s));
    ajv.addFormat('uri', (s: string) => URL.canParse(s));
    ajv.addFormat('email', (s: string) => /^[^@\s]+@[^@\s]+$/.test(s));
    return ajv;
  };
  const body = mk(false);
  body.addSchema(spec as unknown as Json, 'gh');
  const routes: Route[] = [];
  for (const [template, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (!op || typeof op !== 'object' || !('operationId' in op)) continue;
      const params = (op.parameters ?? []).map((p) => resolve<Parameter>(spec, p));
      const names: string[] = [];
      let literal = 0;
      const source = template
        .split('/')
        .map((seg) =>
          seg.replace(/\{([^}]+)\}|([^{]+)/g, (_m, name: string | undefined, lit: string | undefined) => {
            if (lit !== undefined) {
              literal += lit.length;
              return lit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
            }
            names.push(name as string);
            // `x-multi-segment` parameters (a ref `heads/a/b`, a content path) may hold slashes.
            return params.find((p) => p.name === name && p.in === 'path')?.['x-multi-segment'] ? '(.+)' : '([^/]+)';
          }),
        )
        .join('/');
      routes.push({ method: method.toUpperCase(), template, op, params, regex: new RegExp(`^${source}$`), names, literal });
    }
  }
  // The most literal template wins (`/pulls/comments` over `/pulls/{pull_number}`).
  routes.sort((a, b) => b.literal - a.literal || a.names.length - b.names.length);
  loaded = { spec, routes, body, params: mk(true), validators: new Map() };
  return loaded;
}

function validator(l: Loaded, key: string, make: () => ValidateFunction): ValidateFunction {
  let v = l.validators.get(key);
  if (!v) l.validators.set(key, (v = make()));
  return v;
}

const describeErrors = (where: string, v: ValidateFunction, strip = '') =>
  (v.errors ?? []).map((e) => `${where}${e.instancePath.slice(strip.length)} ${e.message ?? e.keyword}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`);

/** Checks one request against the spec: the matched route and the reasons it is invalid (none when valid). */
export function checkRequest(
  method: string,
  rawUrl: string,
  headers: Record<string, string | string[] | undefined>,
  rawBody: string,
): { route?: Route; pathParams: Record<string, string>; query: Record<string, string>; body: unknown; reasons: string[] } {
  const l = load();
  const url = new URL(rawUrl, 'http://fake');
  const query = Object.fromEntries(url.searchParams);
  const reasons: string[] = [];
  let body: unknown = undefined;
  if (rawBody.length > 0) {
    try {
      body = JSON.parse(rawBody);
    } catch {
      reasons.push('body is not JSON');
    }
  }
  const route = l.routes.find((r) => r.method === method && r.regex.test(url.pathname));
  const pathParams: Record<string, string> = {};
  if (!route) return { pathParams, query, body, reasons: [`no operation in GitHub's OpenAPI description for ${method} ${url.pathname}`] };
  const m = route.regex.exec(url.pathname) as RegExpExecArray;
  route.names.forEach((n, i) => (pathParams[n] = decodeURIComponent(m[i + 1] as string)));

  if (!headers['user-agent']) reasons.push('no User-Agent header (GitHub rejects requests without one)');
  const check = (p: Parameter, value: string) => {
    const v = validator(l, `param:${route.method}:${route.template}:${p.in}:${p.name}`, () =>
      l.params.compile({ type: 'object', properties: { v: deref(l.spec, p.schema ?? {}) as Json } }),
    );
    if (!v({ v: value })) reasons.push(...describeErrors(`${p.in} parameter ${p.name}`, v, '/v'));
  };
  for (const p of route.params) {
    if (p.in === 'path') check(p, pathParams[p.name] ?? '');
    if (p.in !== 'query') continue;
    if (query[p.name] === undefined) {
      if (p.required) reasons.push(`missing required query parameter ${p.name}`);
    } else check(p, query[p.name] as string);
  }
  for (const k of Object.keys(query))
    if (!route.params.some((p) => p.in === 'query' && p.name === k)) reasons.push(`unknown query parameter ${k}`);

  const rb = route.op.requestBody ? resolve<Json>(l.spec, route.op.requestBody) : undefined;
  if (!rb) {
    if (body !== undefined) reasons.push(`${route.op.operationId} takes no request body`);
  } else if (body === undefined) {
    if (rb.required) reasons.push(`${route.op.operationId} requires a JSON body`);
  } else {
    const ct = String(headers['content-type'] ?? '');
    if (!ct.startsWith('application/json')) reasons.push(`content-type ${ct || '(none)'} is not application/json`);
    const ops = l.spec.paths[route.template] as Record<string, Operation>;
    const methodKey = Object.keys(ops).find((k) => ops[k] === route.op) as string;
    const base = route.op.requestBody && '$ref' in route.op.requestBody
      ? (route.op.requestBody.$ref as string).replace(/^#\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      : ['paths', route.template, methodKey, 'requestBody'];
    const v = validator(l, `body:${route.op.operationId}`, () => {
      const got = l.body.getSchema('gh' + pointerOf([...base, 'content', 'application/json', 'schema']));
      if (!got) throw new Error(`no request body schema for ${route.op.operationId}`);
      return got;
    });
    if (!v(body)) reasons.push(...describeErrors('body', v));
    // GitHub ignores unknown fields; here they are mistakes (a misspelt `team_reviewer` would be silently dropped).
    const schema = resolve<Json>(l.spec, ((rb.content as Json)['application/json'] as Json).schema as Json);
    const props = schema.properties as Json | undefined;
    if (props && body && typeof body === 'object' && !Array.isArray(body) && schema.additionalProperties === undefined)
      for (const k of Object.keys(body)) if (!(k in props)) reasons.push(`body has unknown property ${k}`);
  }
  return { route, pathParams, query, body, reasons };
}

/** A deep copy of the spec's example for an operation's response (the first example when there are several). */
export function specExample(operationId: string, status: number, name?: string): unknown {
  const l = load();
  const route = l.routes.find((r) => r.op.operationId === operationId);
  if (!route) throw new Error(`no operation ${operationId}`);
  const res = resolve<Json | undefined>(l.spec, route.op.responses[String(status)]);
  const json = (res?.content as Json | undefined)?.['application/json'] as Json | undefined;
  if (!json) throw new Error(`no application/json ${status} response for ${operationId}`);
  if (json.example !== undefined) return structuredClone(json.example);
  const examples = (json.examples ?? {}) as Record<string, Json>;
  const ex = name ? examples[name] : Object.values(examples)[0];
  if (!ex) throw new Error(`no example for ${operationId} ${status}`);
  return structuredClone(resolve<Json>(l.spec, ex).value);
}

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const NOW = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The fake GitHub: its base URL, every request it saw, and handles on its state. */
export interface GitHubOpenApiServer {
  url: string;
  requests: RecordedRequest[];
  /** Requests that matched no operation or failed validation. */
  readonly invalid: RecordedRequest[];
  /** `METHOD operationId` of every request, in order. */
  sequence(): string[];
  /** Creates a repository whose default branch holds these files in one commit. */
  addRepo(full: string, files?: Record<string, string>, defaultBranch?: string): void;
  /** The next call(s) of an operation get these answers instead (after validation). */
  failNext(operationId: string, ...answers: QueuedAnswer[]): void;
  /** Forgets queued answers and recorded requests (between tests). */
  reset(): void;
  pulls(full: string): FakePull[];
  refs(full: string): Map<string, string>;
  /** The files of a commit (path → content). */
  filesAt(full: string, commitSha: string): Map<string, string>;
  /** Merges a pull request with a merge commit (`Merge pull request #N from owner/head`), at `at` (default now). */
  mergePull(full: string, number: number, by: string, at?: string): void;
  /**
   * Makes one commit on `branch` (default: the default branch; created from it when missing)
   * changing `files` (null deletes a file), committed at `at` (default now). Returns its sha.
   */
  commitFiles(full: string, files: Record<string, string | null>, message: string, opts?: { branch?: string; at?: string }): string;
  /** Opens a pull request from `head` into `base` (default: the default branch), as someone on GitHub would. */
  openPull(full: string, head: string, title: string, base?: string): FakePull;
  closePull(full: string, number: number): void;
  close(): Promise<void>;
}

/** Starts the fake on an ephemeral port on 127.0.0.1. */
export async function startGitHubOpenApiServer(): Promise<GitHubOpenApiServer> {
  load();
  const repos = new Map<string, RepoState>();
  const requests: RecordedRequest[] = [];
  const queued = new Map<string, QueuedAnswer[]>();
  let base = '';

  const repoOf = (owner: string, name: string) => repos.get(`${owner}/${name}`.toLowerCase());
  const notFound = (): QueuedAnswer => ({ status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' } });
  const unprocessable = (message: string, errors?: Json[]): QueuedAnswer => ({
    status: 422,
    body: { message, ...(errors ? { errors } : {}), documentation_url: 'https://docs.github.com/rest', status: '422' },
  });

  const filesOfTree = (r: RepoState, tree: string) => new Map([...(r.trees.get(tree) ?? new Map<string, string>())].map(([p, b]) => [p, r.blobs.get(b) ?? '']));
  const putCommit = (r: RepoState, files: Map<string, string>, parents: string[], message: string, date = NOW()) => {
    const entries = new Map<string, string>();
    for (const [p, c] of files) {
      const b = sha1(`blob ${c}`);
      r.blobs.set(b, c);
      entries.set(p, b);
    }
    const tree = sha1(`tree ${JSON.stringify([...entries].sort())}`);
    r.trees.set(tree, entries);
    const sha = sha1(`commit ${tree} ${parents.join(',')} ${message} ${date}`);
    r.commits.set(sha, { tree, parents, message, date });
    return sha;
  };

  const repoJson = (r: RepoState) => ({
    id: r.id,
    name: r.name,
    full_name: `${r.owner}/${r.name}`,
    html_url: `https://github.com/${r.owner}/${r.name}`,
    url: `${base}/repos/${r.owner}/${r.name}`,
  });
  const pullJson = (r: RepoState, p: FakePull, example: Json): Json => {
    const head = (example.head ?? {}) as Json;
    const baseRef = (example.base ?? {}) as Json;
    const user = (example.user ?? {}) as Json;
    const label = (((example.labels as Json[] | undefined) ?? [])[0] ?? {}) as Json;
    const reviewer = (((example.requested_reviewers as Json[] | undefined) ?? [])[0] ?? user) as Json;
    const team = (((example.requested_teams as Json[] | undefined) ?? [])[0] ?? {}) as Json;
    return {
      ...example,
      id: 1000 + p.number,
      number: p.number,
      state: p.state,
      title: p.title,
      body: p.body,
      url: `${base}/repos/${r.owner}/${r.name}/pulls/${p.number}`,
      html_url: `https://github.com/${r.owner}/${r.name}/pull/${p.number}`,
      labels: p.labels.map((name, i) => ({ ...label, id: 2000 + i, name })),
      requested_reviewers: p.reviewers.map((login, i) => ({ ...reviewer, id: 3000 + i, login })),
      requested_teams: p.teams.map((slug, i) => ({ ...team, id: 4000 + i, slug, name: slug })),
      head: { ...head, ref: p.head, sha: p.headSha, label: `${r.owner}:${p.head}`, repo: { ...(head.repo as Json), ...repoJson(r) } },
      base: { ...baseRef, ref: p.base, sha: r.refs.get(`heads/${p.base}`), label: `${r.owner}:${p.base}`, repo: { ...(baseRef.repo as Json), ...repoJson(r) } },
      closed_at: p.closedAt ?? null,
      merged_at: p.mergedAt ?? null,
      merge_commit_sha: p.mergeCommitSha ?? null,
      ...('merged' in example ? { merged: p.merged, merged_by: p.mergedBy ? { ...user, login: p.mergedBy } : null } : {}),
    };
  };
  const refJson = (r: RepoState, ref: string, sha: string) => {
    const ex = specExample('git/get-ref', 200) as Json;
    return {
      ...ex,
      ref: `refs/${ref}`,
      url: `${base}/repos/${r.owner}/${r.name}/git/refs/${ref}`,
      object: { ...(ex.object as Json), type: 'commit', sha, url: `${base}/repos/${r.owner}/${r.name}/git/commits/${sha}` },
    };
  };

  /** The files a commit changed against its first parent (every file for a root commit), with their status. */
  const changedFiles = (r: RepoState, sha: string): Array<{ filename: string; status: 'added' | 'modified' | 'removed'; sha: string }> => {
    const c = r.commits.get(sha);
    if (!c) return [];
    const now = r.trees.get(c.tree) ?? new Map<string, string>();
    const parent = c.parents[0] ? r.trees.get(r.commits.get(c.parents[0])?.tree ?? '') ?? new Map<string, string>() : new Map<string, string>();
    const out: Array<{ filename: string; status: 'added' | 'modified' | 'removed'; sha: string }> = [];
    for (const [p, b] of now) if (parent.get(p) !== b) out.push({ filename: p, status: parent.has(p) ? 'modified' : 'added', sha: b });
    for (const [p, b] of parent) if (!now.has(p)) out.push({ filename: p, status: 'removed', sha: b });
    return out.sort((a, b) => a.filename.localeCompare(b.filename));
  };
  /** A commit as the REST API's commit endpoints show it (list-commits item, get-commit). */
  const commitJson = (r: RepoState, sha: string, example: Json): Json => {
    const c = r.commits.get(sha)!;
    const commit = (example.commit ?? {}) as Json;
    return {
      ...example,
      sha,
      url: `${base}/repos/${r.owner}/${r.name}/commits/${sha}`,
      html_url: `https://github.com/${r.owner}/${r.name}/commit/${sha}`,
      comments_url: `${base}/repos/${r.owner}/${r.name}/commits/${sha}/comments`,
      commit: {
        ...commit,
        url: `${base}/repos/${r.owner}/${r.name}/git/commits/${sha}`,
        message: c.message,
        author: { ...(commit.author as Json), date: c.date },
        committer: { ...(commit.committer as Json), date: c.date },
        tree: { ...(commit.tree as Json), sha: c.tree, url: `${base}/repos/${r.owner}/${r.name}/git/trees/${c.tree}` },
      },
      parents: c.parents.map((p) => ({ sha: p, url: `${base}/repos/${r.owner}/${r.name}/commits/${p}`, html_url: `https://github.com/${r.owner}/${r.name}/commit/${p}` })),
    };
  };

  /** Answers a valid request from state, starting from the spec's example. */
  const answer = (operationId: string, pp: Record<string, string>, query: Record<string, string>, body: Json): QueuedAnswer => {
    const r = repoOf(pp.owner ?? '', pp.repo ?? '');
    if (!r) return notFound();
    const commitUrl = (sha: string) => `${base}/repos/${r.owner}/${r.name}/git/commits/${sha}`;
    switch (operationId) {
      case 'repos/get':
        return { status: 200, body: { ...(specExample('repos/get', 200) as Json), ...repoJson(r), default_branch: r.defaultBranch } };
      case 'git/get-ref': {
        const sha = r.refs.get(pp.ref ?? '');
        return sha ? { status: 200, body: refJson(r, pp.ref as string, sha) } : notFound();
      }
      case 'git/get-commit': {
        const c = r.commits.get(pp.commit_sha ?? '');
        if (!c) return notFound();
        const ex = specExample('git/get-commit', 200) as Json;
        return {
          status: 200,
          body: {
            ...ex,
            sha: pp.commit_sha,
            url: commitUrl(pp.commit_sha as string),
            message: c.message,
            tree: { ...(ex.tree as Json), sha: c.tree },
            parents: c.parents.map((sha) => ({ sha, url: commitUrl(sha), html_url: `https://github.com/${r.owner}/${r.name}/commit/${sha}` })),
          },
        };
      }
      case 'git/create-tree': {
        const baseTree = body.base_tree as string | undefined;
        if (baseTree && !r.trees.has(baseTree)) return unprocessable('Invalid tree info', [{ resource: 'Tree', field: 'base_tree', code: 'invalid' }]);
        const entries = new Map(baseTree ? r.trees.get(baseTree) : []);
        for (const e of body.tree as Json[]) {
          const path = e.path as string;
          if (typeof e.content === 'string') {
            const b = sha1(`blob ${e.content}`);
            r.blobs.set(b, e.content);
            entries.set(path, b);
          } else if (e.sha === null) entries.delete(path);
          else if (typeof e.sha === 'string' && r.blobs.has(e.sha)) entries.set(path, e.sha);
          else return unprocessable('GitRPC::BadObjectState', [{ resource: 'Tree', field: 'sha', code: 'invalid' }]);
        }
        const sha = sha1(`tree ${JSON.stringify([...entries].sort())}`);
        r.trees.set(sha, entries);
        const ex = specExample('git/create-tree', 201) as Json;
        const entry = ((ex.tree as Json[])[0] ?? {}) as Json;
        return {
          status: 201,
          body: {
            ...ex,
            sha,
            url: `${base}/repos/${r.owner}/${r.name}/git/trees/${sha}`,
            truncated: false,
            tree: [...entries].map(([path, b]) => ({ ...entry, path, mode: '100644', type: 'blob', sha: b, size: (r.blobs.get(b) ?? '').length })),
          },
        };
      }
      case 'git/create-commit': {
        const tree = body.tree as string;
        const parents = (body.parents as string[] | undefined) ?? [];
        if (!r.trees.has(tree) || parents.some((p) => !r.commits.has(p))) return unprocessable('Tree SHA does not exist');
        const sha = sha1(`commit ${tree} ${parents.join(',')} ${String(body.message)}`);
        r.commits.set(sha, { tree, parents, message: body.message as string, date: NOW() });
        const ex = specExample('git/create-commit', 201) as Json;
        return {
          status: 201,
          body: {
            ...ex,
            sha,
            url: commitUrl(sha),
            html_url: `https://github.com/${r.owner}/${r.name}/commit/${sha}`,
            message: body.message,
            tree: { ...(ex.tree as Json), sha: tree },
            parents: parents.map((p) => ({ sha: p, url: commitUrl(p), html_url: `https://github.com/${r.owner}/${r.name}/commit/${p}` })),
          },
        };
      }
      case 'git/create-ref': {
        const ref = String(body.ref);
        if (!/^refs\/[^/]+\/.+/.test(ref)) return unprocessable('Reference name must start with refs/ and have at least two slashes.');
        const short = ref.slice('refs/'.length);
        if (r.refs.has(short)) return unprocessable('Reference already exists');
        if (!r.commits.has(String(body.sha))) return unprocessable('Object does not exist');
        r.refs.set(short, String(body.sha));
        return { status: 201, body: refJson(r, short, String(body.sha)) };
      }
      case 'pulls/list': {
        const state = query.state ?? 'open';
        const [headOwner, headRef] = query.head?.includes(':') ? (query.head.split(/:(.*)/s) as [string, string]) : [undefined, query.head];
        const items = r.pulls
          .filter((p) => state === 'all' || p.state === state)
          .filter((p) => headRef === undefined || (p.head === headRef && (headOwner === undefined || headOwner.toLowerCase() === r.owner.toLowerCase())))
          .filter((p) => query.base === undefined || p.base === query.base)
          .sort((a, b) => b.number - a.number);
        const ex = (specExample('pulls/list', 200) as Json[])[0] as Json;
        return { status: 200, body: items.map((p) => pullJson(r, p, ex)) };
      }
      case 'pulls/create': {
        const head = String(body.head);
        const headSha = r.refs.get(`heads/${head.includes(':') ? head.split(':')[1] : head}`);
        if (!headSha) return unprocessable('Validation Failed', [{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
        if (!r.refs.has(`heads/${String(body.base)}`)) return unprocessable('Validation Failed', [{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
        if (r.pulls.some((p) => p.head === head && p.base === body.base && p.state === 'open'))
          return unprocessable('Validation Failed', [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${r.owner}:${head}.` }]);
        const p: FakePull = {
          number: r.pulls.length + 1,
          title: String(body.title),
          body: String(body.body ?? ''),
          head,
          headSha,
          base: String(body.base),
          state: 'open',
          merged: false,
          labels: [],
          reviewers: [],
          teams: [],
        };
        r.pulls.push(p);
        return { status: 201, body: pullJson(r, p, specExample('pulls/create', 201) as Json) };
      }
      case 'pulls/get': {
        const p = r.pulls.find((x) => x.number === Number(pp.pull_number));
        return p ? { status: 200, body: pullJson(r, p, specExample('pulls/get', 200) as Json) } : notFound();
      }
      case 'pulls/request-reviewers': {
        const p = r.pulls.find((x) => x.number === Number(pp.pull_number));
        if (!p) return notFound();
        for (const u of (body.reviewers as string[] | undefined) ?? []) if (!p.reviewers.includes(u)) p.reviewers.push(u);
        for (const t of (body.team_reviewers as string[] | undefined) ?? []) if (!p.teams.includes(t)) p.teams.push(t);
        return { status: 201, body: pullJson(r, p, specExample('pulls/request-reviewers', 201) as Json) };
      }
      case 'issues/add-labels': {
        const p = r.pulls.find((x) => x.number === Number(pp.issue_number));
        if (!p) return notFound();
        const names = Array.isArray(body) ? (body as unknown[]) : ((body.labels as unknown[] | undefined) ?? []);
        for (const n of names) {
          const name = typeof n === 'string' ? n : String((n as Json).name);
          if (!p.labels.includes(name)) p.labels.push(name);
        }
        const ex = ((specExample('issues/add-labels', 200) as Json[])[0] ?? {}) as Json;
        return { status: 200, body: p.labels.map((name, i) => ({ ...ex, id: 2000 + i, name, url: `${base}/repos/${r.owner}/${r.name}/labels/${encodeURIComponent(name)}` })) };
      }
      case 'repos/get-content': {
        const ref = query.ref ?? r.defaultBranch;
        const commit = r.refs.get(`heads/${ref}`) ?? (r.commits.has(ref) ? ref : undefined);
        if (!commit) return { status: 404, body: { message: `No commit found for the ref ${ref}`, documentation_url: 'https://docs.github.com/rest', status: '404' } };
        const entries = r.trees.get(r.commits.get(commit)?.tree ?? '') ?? new Map<string, string>();
        const path = (pp.path ?? '').replace(/^\/+|\/+$/g, '');
        const blob = entries.get(path);
        if (blob) {
          const content = r.blobs.get(blob) ?? '';
          const ex = specExample('repos/get-content', 200, 'response-if-content-is-a-file') as Json;
          // GitHub wraps base64 at 60 characters with newlines.
          const b64 = (Buffer.from(content, 'utf8').toString('base64').match(/.{1,60}/g) ?? []).join('\n');
          return { status: 200, body: { ...ex, type: 'file', encoding: 'base64', size: Buffer.byteLength(content), name: path.split('/').pop(), path, sha: blob, content: b64 } };
        }
        const children = [...entries.keys()].filter((p) => p.startsWith(`${path}/`));
        if (children.length === 0) return notFound();
        const ex = (specExample('repos/get-content', 200, 'response-if-content-is-a-directory') as Json[])[0] as Json;
        const names = [...new Set(children.map((c) => c.slice(path.length + 1).split('/')[0] as string))].sort();
        return {
          status: 200,
          body: names.map((name) => {
            const blob = entries.get(`${path}/${name}`);
            return { ...ex, name, path: `${path}/${name}`, type: blob ? 'file' : 'dir', sha: blob ?? sha1(`tree ${path}/${name}`), size: blob ? Buffer.byteLength(r.blobs.get(blob) ?? '') : 0 };
          }),
        };
      }
      case 'git/get-tree': {
        const entries = r.trees.get(pp.tree_sha ?? '');
        if (!entries) return notFound();
        const ex = specExample('git/get-tree', 200) as Json;
        const entry = ((ex.tree as Json[])[0] ?? {}) as Json;
        const top = new Map<string, string | undefined>();
        // Trees are kept flat; a non-recursive read shows the root's files and its folders.
        for (const [p, b] of entries) top.set(p.split('/')[0] as string, p.includes('/') ? undefined : b);
        return {
          status: 200,
          body: {
            ...ex,
            sha: pp.tree_sha,
            url: `${base}/repos/${r.owner}/${r.name}/git/trees/${pp.tree_sha}`,
            truncated: false,
            tree: [...top].map(([path, b]) => (b ? { ...entry, path, mode: '100644', type: 'blob', sha: b, size: Buffer.byteLength(r.blobs.get(b) ?? '') } : { ...entry, path, mode: '040000', type: 'tree', sha: sha1(`tree ${path}`) })),
          },
        };
      }
      case 'git/get-blob': {
        const content = r.blobs.get(pp.file_sha ?? '');
        if (content === undefined) return notFound();
        return { status: 200, body: { ...(specExample('git/get-blob', 200) as Json), sha: pp.file_sha, encoding: 'base64', size: Buffer.byteLength(content), content: Buffer.from(content).toString('base64') } };
      }
      case 'repos/list-commits': {
        const start = r.refs.get(`heads/${query.sha ?? r.defaultBranch}`) ?? (r.commits.has(query.sha ?? '') ? query.sha : undefined);
        if (!start) return { status: 404, body: { message: 'No commit found for SHA: ' + (query.sha ?? ''), documentation_url: 'https://docs.github.com/rest', status: '404' } };
        const path = (query.path ?? '').replace(/^\/+|\/+$/g, '');
        const since = query.since ? Date.parse(query.since) : -Infinity;
        const until = query.until ? Date.parse(query.until) : Infinity;
        const seen = new Set<string>();
        const queue = [start];
        const found: string[] = [];
        while (queue.length > 0) {
          const sha = queue.shift() as string;
          if (seen.has(sha)) continue;
          seen.add(sha);
          const c = r.commits.get(sha);
          if (!c) continue;
          queue.push(...c.parents);
          const at = Date.parse(c.date);
          if (at < since || at > until) continue;
          // With a path, only commits that changed something under it against their first parent (GitHub simplifies history the same way).
          if (path && changedFiles(r, sha).every((f) => f.filename !== path && !f.filename.startsWith(`${path}/`))) continue;
          found.push(sha);
        }
        found.sort((a, b) => Date.parse(r.commits.get(b)!.date) - Date.parse(r.commits.get(a)!.date));
        const perPage = Number(query.per_page ?? 30);
        const page = Number(query.page ?? 1);
        const ex = (specExample('repos/list-commits', 200) as Json[])[0] as Json;
        return { status: 200, body: found.slice((page - 1) * perPage, page * perPage).map((sha) => commitJson(r, sha, ex)) };
      }
      case 'repos/get-commit': {
        const sha = r.refs.get(`heads/${pp.ref}`) ?? (r.commits.has(pp.ref ?? '') ? pp.ref : undefined);
        if (!sha) return { status: 422, body: { message: `No commit found for SHA: ${pp.ref}`, documentation_url: 'https://docs.github.com/rest', status: '422' } };
        const ex = specExample('repos/get-commit', 200) as Json;
        const files = changedFiles(r, sha);
        const fileEx = (((ex.files as Json[] | undefined) ?? [])[0] ?? {}) as Json;
        return {
          status: 200,
          body: {
            ...commitJson(r, sha, ex),
            stats: { additions: 0, deletions: 0, total: files.length },
            files: files.map((f) => ({
              ...fileEx,
              sha: f.sha,
              filename: f.filename,
              status: f.status,
              additions: 0,
              deletions: 0,
              changes: 0,
              blob_url: `https://github.com/${r.owner}/${r.name}/blob/${sha}/${f.filename}`,
              raw_url: `https://github.com/${r.owner}/${r.name}/raw/${sha}/${f.filename}`,
              contents_url: `${base}/repos/${r.owner}/${r.name}/contents/${f.filename}?ref=${sha}`,
            })),
          },
        };
      }
      case 'repos/list-pull-requests-associated-with-commit': {
        const ex = (specExample('repos/list-pull-requests-associated-with-commit', 200) as Json[])[0] as Json;
        const items = r.pulls.filter((p) => p.mergeCommitSha === pp.commit_sha || p.headSha === pp.commit_sha);
        return { status: 200, body: items.map((p) => pullJson(r, p, ex)) };
      }
      default:
        return { status: 501, body: { message: `the fake does not answer ${operationId}` } };
    }
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((ok, fail) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
      req.on('error', fail);
    });

  const server: Server = createServer((req, res) => {
    void readBody(req).then((raw) => {
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      const checked = checkRequest(method, url, req.headers, raw);
      const operationId = checked.route?.op.operationId;
      let out: QueuedAnswer;
      if (checked.reasons.length > 0) out = unprocessable('Request does not match GitHub\'s OpenAPI description', checked.reasons.map((message) => ({ code: 'invalid', message })));
      else {
        const q = queued.get(operationId as string)?.shift();
        q?.effect?.();
        out = q ?? answer(operationId as string, checked.pathParams, checked.query, (checked.body ?? {}) as Json);
      }
      requests.push({
        method,
        url,
        ...(operationId ? { operationId, template: checked.route?.template } : {}),
        pathParams: checked.pathParams,
        query: checked.query,
        body: checked.body,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        valid: checked.reasons.length === 0,
        reasons: checked.reasons,
        status: out.status,
      });
      res.writeHead(out.status, { 'content-type': 'application/json; charset=utf-8', ...out.headers });
      res.end(out.body === undefined ? '' : JSON.stringify(out.body));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    requests,
    get invalid() {
      return requests.filter((r) => !r.valid);
    },
    sequence: () => requests.map((r) => `${r.method} ${r.operationId ?? r.url}`),
    addRepo(full, files = { 'README.md': '# repo\n' }, defaultBranch = 'main') {
      const [owner, name] = full.split('/') as [string, string];
      const r: RepoState = { owner, name, id: 100 + repos.size, defaultBranch, refs: new Map(), commits: new Map(), trees: new Map(), blobs: new Map(), pulls: [] };
      r.refs.set(`heads/${defaultBranch}`, putCommit(r, new Map(Object.entries(files)), [], 'initial commit'));
      repos.set(full.toLowerCase(), r);
    },
    failNext(operationId, ...answers) {
      queued.set(operationId, [...(queued.get(operationId) ?? []), ...answers]);
    },
    reset() {
      queued.clear();
      requests.length = 0;
    },
    pulls: (full) => repos.get(full.toLowerCase())?.pulls ?? [],
    refs: (full) => repos.get(full.toLowerCase())?.refs ?? new Map(),
    filesAt(full, commitSha) {
      const r = repos.get(full.toLowerCase());
      const c = r?.commits.get(commitSha);
      return r && c ? filesOfTree(r, c.tree) : new Map();
    },
    mergePull(full, number, by, when) {
      const r = repos.get(full.toLowerCase());
      const p = r?.pulls.find((x) => x.number === number);
      if (!r || !p) throw new Error(`no pull ${full}#${number}`);
      const at = when ?? NOW();
      const baseSha = r.refs.get(`heads/${p.base}`) as string;
      // The merge keeps the base's files and takes the head's changes (against the commit the head branched from).
      const headFiles = filesOfTree(r, r.commits.get(p.headSha)?.tree ?? '');
      const forkPoint = r.commits.get(p.headSha)?.parents[0];
      const forkFiles = forkPoint ? filesOfTree(r, r.commits.get(forkPoint)?.tree ?? '') : new Map<string, string>();
      const merged = filesOfTree(r, r.commits.get(baseSha)?.tree ?? '');
      for (const [f, c] of headFiles) if (forkFiles.get(f) !== c) merged.set(f, c);
      for (const f of forkFiles.keys()) if (!headFiles.has(f)) merged.delete(f);
      const merge = putCommit(r, merged, [baseSha, p.headSha], `Merge pull request #${number} from ${r.owner}/${p.head}`, at);
      r.refs.set(`heads/${p.base}`, merge);
      Object.assign(p, { state: 'closed', merged: true, mergedAt: at, closedAt: at, mergedBy: by, mergeCommitSha: merge });
    },
    commitFiles(full, files, message, opts = {}) {
      const r = repos.get(full.toLowerCase());
      if (!r) throw new Error(`no repo ${full}`);
      const branch = opts.branch ?? r.defaultBranch;
      const parent = r.refs.get(`heads/${branch}`) ?? (r.refs.get(`heads/${r.defaultBranch}`) as string);
      const next = filesOfTree(r, r.commits.get(parent)?.tree ?? '');
      for (const [f, c] of Object.entries(files)) {
        if (c === null) next.delete(f);
        else next.set(f, c);
      }
      const sha = putCommit(r, next, [parent], message, opts.at);
      r.refs.set(`heads/${branch}`, sha);
      return sha;
    },
    openPull(full, head, title, baseBranch) {
      const r = repos.get(full.toLowerCase());
      const headSha = r?.refs.get(`heads/${head}`);
      if (!r || !headSha) throw new Error(`no branch ${head} in ${full}`);
      const p: FakePull = { number: r.pulls.length + 1, title, body: '', head, headSha, base: baseBranch ?? r.defaultBranch, state: 'open', merged: false, labels: [], reviewers: [], teams: [] };
      r.pulls.push(p);
      return p;
    },
    closePull(full, number) {
      const p = repos.get(full.toLowerCase())?.pulls.find((x) => x.number === number);
      if (!p) throw new Error(`no pull ${full}#${number}`);
      Object.assign(p, { state: 'closed', closedAt: NOW() });
    },
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
