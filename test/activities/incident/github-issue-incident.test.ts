import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IncidentInput } from '../../../activities/incident';
import { findingMarker, githubIssueIncident } from '../../../activities/incident';

const TOKEN = 'ghs_issueAdapterTestToken0123456789abcd';

/**
 * A small GitHub stand-in for the two calls of the issue adapter, with issues kept in memory:
 * `GET /repos/{owner}/{repo}/issues` (filters state and labels, pages with a Link header) and
 * `POST /repos/{owner}/{repo}/issues`. Requests are checked against what GitHub's REST docs say
 * of these two operations (query parameters state/labels/per_page/page, body title/body/labels,
 * a User-Agent, a JSON content type); one that fails is answered 422 and its reasons recorded.
 * (test/support/github-openapi-server's spec validator cannot compile these operations' schemas
 * yet, so it is not used here.)
 */

/** The reasons a request is not what GitHub documents for list-for-repo / create an issue. */
function checkIssueRequest(
  method: string,
  url: URL,
  headers: Record<string, string | string[] | undefined>,
  raw: string,
): { query: Record<string, string>; body: unknown; reasons: string[] } {
  const reasons: string[] = [];
  const query = Object.fromEntries(url.searchParams);
  let body: unknown;
  if (!headers['user-agent']) reasons.push('no User-Agent header');
  if (method === 'GET') {
    for (const k of Object.keys(query))
      if (
        ![
          'milestone',
          'state',
          'assignee',
          'type',
          'creator',
          'mentioned',
          'labels',
          'sort',
          'direction',
          'since',
          'per_page',
          'page',
        ].includes(k)
      )
        reasons.push(`unknown query parameter ${k}`);
    if (query.state !== undefined && !['open', 'closed', 'all'].includes(query.state))
      reasons.push('state must be open, closed or all');
    if (query.per_page !== undefined && !(Number(query.per_page) >= 1 && Number(query.per_page) <= 100))
      reasons.push('per_page must be 1..100');
    if (raw.length > 0) reasons.push('list-for-repo takes no body');
  } else if (method === 'POST') {
    if (!String(headers['content-type'] ?? '').startsWith('application/json'))
      reasons.push('content-type is not application/json');
    try {
      body = JSON.parse(raw);
    } catch {
      return { query, body, reasons: [...reasons, 'body is not JSON'] };
    }
    const b = body as Record<string, unknown>;
    for (const k of Object.keys(b))
      if (!['title', 'body', 'assignee', 'milestone', 'labels', 'assignees', 'type'].includes(k))
        reasons.push(`body has unknown property ${k}`);
    if (typeof b.title !== 'string' || b.title.length === 0) reasons.push('body.title is required');
    if (b.body !== undefined && typeof b.body !== 'string') reasons.push('body.body must be a string');
    if (b.labels !== undefined && !(Array.isArray(b.labels) && b.labels.every((l) => typeof l === 'string')))
      reasons.push('body.labels must be an array of strings');
  } else reasons.push(`method ${method} is not an operation here`);
  return { query, body, reasons };
}
interface Issue {
  number: number;
  title: string;
  body: string;
  labels: string[];
  state: 'open' | 'closed';
  pull_request?: boolean;
}
interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorization?: string;
  reasons: string[];
}

let server: Server;
let base: string;
let issues: Issue[];
let seen: Seen[];
let failNext: { status: number; body: unknown } | undefined;

function issueJson(i: Issue): Record<string, unknown> {
  const label = {
    node_id: 'MDU6TGFiZWwyMDgwNDU5NDY=',
    url: `${base}/repos/acme/platform-incidents/labels/x`,
    color: 'f29513',
    default: false,
    description: null,
  };
  return {
    id: 5000 + i.number,
    node_id: 'MDU6SXNzdWUx',
    user: { login: 'driftplane[bot]', id: 1, type: 'Bot' },
    comments: 0,
    locked: false,
    created_at: '2026-12-03T14:00:00Z',
    updated_at: '2026-12-03T14:00:00Z',
    number: i.number,
    title: i.title,
    body: i.body,
    state: i.state,
    labels: i.labels.map((name, n) => ({ ...label, id: 900 + n, name })),
    html_url: `https://github.com/acme/platform-incidents/issues/${i.number}`,
    url: `${base}/repos/acme/platform-incidents/issues/${i.number}`,
    ...(i.pull_request
      ? { pull_request: { url: `${base}/repos/acme/platform-incidents/pulls/${i.number}` } }
      : { pull_request: undefined }),
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://x');
      const checked = checkIssueRequest(req.method ?? 'GET', url, req.headers, raw);
      seen.push({
        method: req.method ?? '',
        path: url.pathname,
        query: checked.query,
        body: checked.body,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        reasons: checked.reasons,
      });
      const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(body));
      };
      if (checked.reasons.length > 0)
        return reply(422, { message: 'Validation Failed', errors: checked.reasons });
      if (failNext) {
        const f = failNext;
        failNext = undefined;
        return reply(f.status, f.body);
      }
      if (url.pathname !== '/repos/acme/platform-incidents/issues')
        return reply(404, { message: 'Not Found' });
      if (req.method === 'GET') {
        const state = checked.query.state ?? 'open';
        const wanted = (checked.query.labels ?? '').split(',').filter(Boolean);
        const all = issues.filter(
          (i) => (state === 'all' || i.state === state) && wanted.every((l) => i.labels.includes(l)),
        );
        const perPage = Number(checked.query.per_page ?? 30);
        const page = Number(checked.query.page ?? 1);
        const last = Math.max(1, Math.ceil(all.length / perPage));
        const headers: Record<string, string> = {};
        if (page < last) {
          const next = new URL(`${base}${url.pathname}`);
          for (const [k, v] of Object.entries({ ...checked.query, page: String(page + 1) }))
            next.searchParams.set(k, v);
          headers.link = `<${next.toString()}>; rel="next"`;
        }
        return reply(200, all.slice((page - 1) * perPage, page * perPage).map(issueJson), headers);
      }
      const body = checked.body as { title: string; body?: string; labels?: string[] };
      const issue: Issue = {
        number: issues.length + 1,
        title: body.title,
        body: body.body ?? '',
        labels: body.labels ?? [],
        state: 'open',
      };
      issues.push(issue);
      return reply(201, issueJson(issue));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));
beforeEach(() => {
  issues = [];
  seen = [];
  failNext = undefined;
});

const INPUT: IncidentInput = {
  findingId: 'finding:payments/network:3f9c2a71',
  title: 'Manual change to aws_security_group.web in prod',
  summary: 'ingress 0.0.0.0/0:22 added by alice outside of OpenTofu',
  severity: 'critical',
  source: 'payments/network',
  component: 'aws_security_group.web',
  customDetails: { driftClass: 'MANUAL_CHANGE' },
  links: [{ href: 'https://driftplane.example.com/findings/3f9c2a71', text: 'Finding' }],
};

const adapter = () =>
  githubIssueIncident({
    token: TOKEN,
    apiUrl: base,
    repo: 'acme/platform-incidents',
    labels: ['sev1', 'driftplane'],
  });

describe('githubIssueIncident against a local GitHub', () => {
  it('creates one labelled issue with the marker line, after looking for an open one', async () => {
    const ref = await adapter().open(INPUT);
    expect(ref).toEqual({
      adapter: 'github-issue',
      incidentId: 'acme/platform-incidents#1',
      url: 'https://github.com/acme/platform-incidents/issues/1',
      created: true,
    });
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /repos/acme/platform-incidents/issues',
      'POST /repos/acme/platform-incidents/issues',
    ]);
    expect(seen.flatMap((s) => s.reasons)).toEqual([]); // both requests are as GitHub documents them
    expect(seen[0]?.query).toEqual({ state: 'open', labels: 'driftplane', per_page: '100' });
    const body = seen[1]?.body as { title: string; body: string; labels: string[] };
    expect(body.title).toBe(INPUT.title);
    expect(body.labels).toEqual(['driftplane', 'sev1']);
    expect(body.body.split('\n')).toContain(findingMarker(INPUT.findingId));
    expect(body.body).toContain(INPUT.summary);
    expect(body.body).toContain('[Finding](https://driftplane.example.com/findings/3f9c2a71)');
    for (const s of seen) expect(s.authorization).toBe(`token ${TOKEN}`);
  });

  it('is idempotent: the same finding again finds the issue (on a later page), creates nothing', async () => {
    for (let n = 0; n < 130; n++)
      issues.push({
        number: n + 1,
        title: `other ${n}`,
        body: `x\n${findingMarker(`finding:other:${n}`)}`,
        labels: ['driftplane'],
        state: 'open',
      });
    // A closed issue, a pull request and a prefix of the id carry near-miss markers and are not taken.
    issues.push({
      number: 131,
      title: 'closed',
      body: findingMarker(INPUT.findingId),
      labels: ['driftplane'],
      state: 'closed',
    });
    issues.push({
      number: 132,
      title: 'pr',
      body: findingMarker(INPUT.findingId),
      labels: ['driftplane'],
      state: 'open',
      pull_request: true,
    });
    issues.push({
      number: 133,
      title: 'longer id',
      body: findingMarker(`${INPUT.findingId}0`),
      labels: ['driftplane'],
      state: 'open',
    });
    const first = await adapter().open(INPUT);
    expect(first).toMatchObject({ incidentId: 'acme/platform-incidents#134', created: true });
    seen = [];
    const again = await adapter().open(INPUT);
    expect(again).toEqual({ ...first, created: false });
    expect(seen.map((s) => `${s.method} ${s.query.page ?? '1'}`)).toEqual(['GET 1', 'GET 2']);
    expect(
      issues.filter(
        (i) =>
          i.body.split('\n').includes(findingMarker(INPUT.findingId)) &&
          !i.pull_request &&
          i.state === 'open',
      ),
    ).toHaveLength(1);
  });

  it.each([
    [401, { message: 'Bad credentials' }, true],
    [404, { message: 'Not Found' }, true],
    [403, { message: 'API rate limit exceeded for installation ID 1.' }, false],
    [502, { message: 'Server Error' }, false],
  ])(
    'HTTP %i %j: GitHubIssueFailed (nonRetryable: %s), without the token',
    async (status, body, permanent) => {
      failNext = { status, body };
      const e = await adapter()
        .open(INPUT)
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(e).toBeInstanceOf(ApplicationFailure);
      const f = e as ApplicationFailure;
      expect(f).toMatchObject({ type: 'GitHubIssueFailed', nonRetryable: permanent });
      expect(f.message).toContain(`HTTP ${status}`);
      expect(JSON.stringify({ m: f.message, d: f.details, s: f.stack })).not.toContain(TOKEN);
    },
  );
});
