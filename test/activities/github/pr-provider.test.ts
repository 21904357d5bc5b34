import { ApplicationFailure } from '@temporalio/common';
import type { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGitHubClient, githubPrProvider } from '../../../activities/github/pr-provider';
import type { PrRequest } from '../../../activities/reconcile/pr-provider';
import { branchOf } from '../../../domain/reconcile/branch';
import { checkRequest, startGitHubOpenApiServer, type GitHubOpenApiServer } from '../../support/github-openapi-server';

// GitHub at the HTTP boundary: a local fake that checks every request against GitHub's official
// OpenAPI description (@octokit/openapi) and answers from the description's own examples.
const TOKEN = 'ghp_TestTokenThatMustNeverLeak0123456789';
const REPO = 'acme/platform-infra';
const FINDING = 'checkout-web-prod:3f9a1c2b7d';

let gh: GitHubOpenApiServer;
let octokit: Octokit;
beforeAll(async () => {
  gh = await startGitHubOpenApiServer();
  octokit = await createGitHubClient({ token: TOKEN, apiUrl: gh.url, timeoutMs: 5000 });
}, 30_000);
afterAll(async () => gh.close());

let n = 0;
let repo = REPO;
beforeEach(() => {
  // A fresh repository per test keeps the state (refs, PRs) of one test out of the next.
  repo = `acme/infra-${++n}`;
  gh.addRepo(repo, {
    'README.md': '# infra\n',
    'k8s/checkout/web.yaml': 'replicas: 3\n',
    'k8s/checkout/svc.yaml': 'port: 80\n',
  });
  gh.reset();
});

const request = (over: Partial<PrRequest> = {}): PrRequest => ({
  findingId: FINDING,
  repo,
  base: 'main',
  title: 'Reconcile checkout-web-prod: image drift',
  body: 'driftplane found `/spec/template/spec/containers/0/image` changed in prod.',
  files: [
    { path: 'k8s/checkout/web.yaml', content: 'replicas: 3\nimage: web:1.4.2\n' },
    { path: 'k8s/checkout/NOTES.md', content: 'reconciled by driftplane\n' },
  ],
  labels: ['driftplane', 'UNAUTHORIZED_RUNTIME_DRIFT', 'HIGH'],
  reviewers: { teams: ['team-checkout'], users: ['maria-lopez'] },
  ...over,
});
const provider = () => githubPrProvider({ token: TOKEN, octokit });
const posts = () => gh.requests.filter((r) => r.method === 'POST').map((r) => r.operationId);
const failureOf = async (p: Promise<unknown>): Promise<Error> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
};

describe('githubPrProvider.open: one multi-file commit through the Git data API, then the PR', () => {
  it('sends exactly the documented sequence, and every request validates against the OpenAPI description', async () => {
    const ref = await provider().open(request());
    const branch = branchOf(FINDING);

    expect(gh.sequence()).toEqual([
      'GET git/get-ref', // base
      'GET git/get-ref', // the finding's branch: 404
      'GET pulls/list',
      'GET git/get-commit',
      'POST git/create-tree',
      'POST git/create-commit',
      'POST git/create-ref',
      'POST pulls/create',
      'POST pulls/request-reviewers',
      'POST issues/add-labels',
    ]);
    expect(gh.invalid).toEqual([]);
    expect(gh.requests.map((r) => r.status)).toEqual([200, 404, 200, 200, 201, 201, 201, 201, 201, 200]);
    expect(gh.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);

    const [baseRef, branchRef, list, , tree, commit, createRef, create, reviewers, labels] = gh.requests;
    expect(baseRef?.pathParams.ref).toBe('heads/main');
    expect(branchRef?.pathParams.ref).toBe(`heads/${branch}`);
    expect(list?.query).toMatchObject({ head: `acme:${branch}`, state: 'all' });
    const mainSha = gh.refs(repo).get('heads/main') as string;
    expect(tree?.body).toMatchObject({
      base_tree: expect.stringMatching(/^[0-9a-f]{40}$/),
      tree: [
        { path: 'k8s/checkout/web.yaml', mode: '100644', type: 'blob', content: 'replicas: 3\nimage: web:1.4.2\n' },
        { path: 'k8s/checkout/NOTES.md', mode: '100644', type: 'blob', content: 'reconciled by driftplane\n' },
      ],
    });
    expect(commit?.body).toMatchObject({ message: request().title, parents: [mainSha] });
    expect(createRef?.body).toEqual({ ref: `refs/heads/${branch}`, sha: ref.commit });
    expect(create?.body).toEqual({ title: request().title, body: request().body, head: branch, base: 'main' });
    expect(reviewers?.body).toEqual({ reviewers: ['maria-lopez'], team_reviewers: ['team-checkout'] });
    expect(labels?.body).toEqual({ labels: ['driftplane', 'UNAUTHORIZED_RUNTIME_DRIFT', 'HIGH'] });

    expect(ref).toEqual({
      provider: 'github',
      repo,
      number: 1,
      url: `https://github.com/${repo}/pull/1`,
      branch,
      commit: gh.refs(repo).get(`heads/${branch}`),
      created: true,
    });
    // One commit with both files on top of the base tree (the untouched files are still there).
    const files = gh.filesAt(repo, ref.commit);
    expect(Object.fromEntries(files)).toEqual({
      'README.md': '# infra\n',
      'k8s/checkout/web.yaml': 'replicas: 3\nimage: web:1.4.2\n',
      'k8s/checkout/svc.yaml': 'port: 80\n',
      'k8s/checkout/NOTES.md': 'reconciled by driftplane\n',
    });
    expect(gh.pulls(repo)[0]).toMatchObject({ labels: request().labels, teams: ['team-checkout'], reviewers: ['maria-lopez'] });
  });

  it('the validator catches a request the description forbids (POST pulls without head), sent through the same Octokit', async () => {
    const err = await failureOf(
      octokit.request('POST /repos/{owner}/{repo}/pulls', { owner: 'acme', repo: repo.split('/')[1] as string, title: 't', base: 'main' } as never),
    );
    expect((err as { status?: number }).status).toBe(422);
    expect(gh.invalid).toHaveLength(1);
    expect(gh.invalid[0]?.operationId).toBe('pulls/create');
    expect(gh.invalid[0]?.reasons.join('\n')).toContain("must have required property 'head'");

    // And a misspelt field, an unknown query parameter, a path no operation has.
    await failureOf(octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers', { owner: 'acme', repo: 'x', pull_number: 1, team_reviewer: ['t'] }));
    await failureOf(octokit.request('GET /repos/{owner}/{repo}/pulls', { owner: 'acme', repo: 'x', status: 'all' }));
    await failureOf(octokit.request('GET /repos/{owner}/{repo}/no-such-thing', { owner: 'acme', repo: 'x' }));
    expect(gh.invalid.map((r) => r.reasons[0])).toEqual([
      expect.stringContaining("must have required property 'head'"),
      'body has unknown property team_reviewer',
      'unknown query parameter status',
      expect.stringContaining('no operation'),
    ]);
  });
});

describe('the fake finds operations by path template', () => {
  it.each([
    ['/repos/o/r/git/ref/heads%2Fdriftplane%2Fu%2Ff', 'heads/driftplane/u/f'], // as Octokit sends it
    ['/repos/o/r/git/ref/heads/driftplane/u/f', 'heads/driftplane/u/f'], // `{ref}` is x-multi-segment
  ])('GET %s → git/get-ref with ref %s', (url, ref) => {
    const c = checkRequest('GET', url, { 'user-agent': 't' }, '');
    expect([c.route?.op.operationId, c.pathParams.ref, c.reasons]).toEqual(['git/get-ref', ref, []]);
  });
  it('a literal segment wins over a parameter; a non-multi-segment parameter holds no slash', () => {
    expect(checkRequest('GET', '/repos/o/r/pulls/comments', { 'user-agent': 't' }, '').route?.op.operationId).toBe('pulls/list-review-comments-for-repo');
    expect(checkRequest('GET', '/repos/o/r/pulls/1/x', { 'user-agent': 't' }, '').reasons[0]).toContain('no operation');
    expect(checkRequest('GET', '/repos/o/r/pulls/abc', { 'user-agent': 't' }, '').reasons).toEqual([expect.stringContaining('path parameter pull_number must be integer')]);
  });
});

describe('githubPrProvider.open is idempotent by finding', () => {
  it('a crash after createRef (pulls.create answers 502): the retry finds the branch and creates the PR once; a third open creates nothing', async () => {
    gh.failNext('pulls/create', { status: 502, body: { message: 'Server Error' } });
    const first = await failureOf(provider().open(request()));
    expect(first).not.toBeInstanceOf(ApplicationFailure); // a plain Error: Temporal retries it
    expect(first.name).toBe('GitHubUnavailable');
    expect(posts()).toEqual(['git/create-tree', 'git/create-commit', 'git/create-ref', 'pulls/create']);
    const branchSha = gh.refs(repo).get(`heads/${branchOf(FINDING)}`);
    expect(branchSha).toMatch(/^[0-9a-f]{40}$/);

    gh.requests.length = 0;
    const second = await provider().open(request());
    expect(posts()).toEqual(['pulls/create', 'pulls/request-reviewers', 'issues/add-labels']);
    expect(second).toMatchObject({ number: 1, created: true, commit: branchSha });

    gh.requests.length = 0;
    const third = await provider().open(request());
    expect(posts()).toEqual([]);
    expect(third).toEqual({ ...second, created: false });
    expect(gh.pulls(repo)).toHaveLength(1);
    expect(gh.invalid).toEqual([]);
  });

  it('a crash between pulls.create and addLabels: the retry finds the PR and finishes it (reviewers, labels)', async () => {
    gh.failNext('issues/add-labels', { status: 500, body: { message: 'Server Error' } });
    await failureOf(provider().open(request()));
    expect(gh.pulls(repo)[0]?.labels).toEqual([]);

    gh.requests.length = 0;
    const again = await provider().open(request());
    expect(again.created).toBe(false);
    expect(posts()).toEqual(['pulls/request-reviewers', 'issues/add-labels']);
    expect(gh.pulls(repo)[0]?.labels).toEqual(request().labels);
    expect(gh.invalid).toEqual([]);
  });

  it('a race on the branch (createRef: "Reference already exists") re-reads the ref and goes on', async () => {
    // Another attempt creates the branch (at the base commit) between our look and our createRef.
    const main = gh.refs(repo).get('heads/main') as string;
    gh.failNext('git/create-ref', {
      status: 422,
      body: { message: 'Reference already exists', documentation_url: 'https://docs.github.com/rest/git/refs#create-a-reference' },
      effect: () => gh.refs(repo).set(`heads/${branchOf(FINDING)}`, main),
    });
    const ref = await provider().open(request());
    expect(gh.requests.find((r) => r.operationId === 'git/create-ref')?.status).toBe(422);
    expect(ref).toMatchObject({ created: true, commit: main, number: 1 });
    expect(gh.pulls(repo)).toHaveLength(1);
    expect(gh.invalid).toEqual([]);
  });

  it('pulls.create "A pull request already exists" finds that PR instead of failing', async () => {
    const first = await provider().open(request());
    gh.failNext('pulls/list', { status: 200, body: [] }); // the look misses it (eventual consistency)
    gh.requests.length = 0;
    const again = await provider().open(request());
    expect(gh.requests.find((r) => r.operationId === 'pulls/create')?.status).toBe(422);
    expect(again).toMatchObject({ number: first.number, created: false, url: first.url });
    expect(gh.pulls(repo)).toHaveLength(1);
  });

  it('a closed PR on the branch is returned as it is (created: false); an explicit branch opens a new one', async () => {
    const first = await provider().open(request());
    gh.closePull(repo, first.number);
    const again = await provider().open(request());
    expect(again).toMatchObject({ number: first.number, created: false });
    const reopened = await provider().open(request({ branch: `${branchOf(FINDING)}-r2` }));
    expect(reopened).toMatchObject({ number: 2, created: true, branch: `${branchOf(FINDING)}-r2` });
    expect(gh.invalid).toEqual([]);
  });
});

describe('githubPrProvider.status, readFile and listFiles', () => {
  it('status: open, then merged (when, by whom, merge commit) or closed (when)', async () => {
    const p = provider();
    const a = await p.open(request());
    expect(await p.status({ repo, number: a.number })).toEqual({ state: 'open' });
    gh.mergePull(repo, a.number, 'maria-lopez');
    const merged = await p.status({ repo, number: a.number });
    expect(merged).toEqual({
      state: 'merged',
      at: gh.pulls(repo)[0]?.mergedAt,
      by: 'maria-lopez',
      mergeCommit: gh.refs(repo).get('heads/main'),
    });

    const b = await p.open(request({ findingId: 'checkout-web-prod:feedbeef' }));
    gh.closePull(repo, b.number);
    expect(await p.status({ repo, number: b.number })).toEqual({ state: 'closed', at: gh.pulls(repo)[1]?.closedAt });
    expect(gh.invalid).toEqual([]);
  });

  it('readFile decodes base64 content, undefined for a missing file or branch; listFiles lists a folder or the root', async () => {
    const p = provider();
    const ref = await p.open(request());
    expect(await p.readFile(repo, ref.branch, 'k8s/checkout/web.yaml')).toBe('replicas: 3\nimage: web:1.4.2\n');
    expect(await p.readFile(repo, 'main', 'k8s/checkout/web.yaml')).toBe('replicas: 3\n');
    expect(await p.readFile(repo, 'main', 'k8s/checkout/NOTES.md')).toBeUndefined();
    expect(await p.readFile(repo, 'no-such-branch', 'README.md')).toBeUndefined();
    expect(await p.readFile(repo, 'main', 'k8s')).toBeUndefined(); // a folder is not a file
    expect(await p.listFiles(repo, ref.branch, 'k8s/checkout')).toEqual(['k8s/checkout/NOTES.md', 'k8s/checkout/svc.yaml', 'k8s/checkout/web.yaml']);
    expect(await p.listFiles(repo, 'main', 'k8s')).toEqual([]);
    expect(await p.listFiles(repo, 'main', '')).toEqual(['README.md']);
    expect(await p.listFiles(repo, 'main', 'nowhere')).toEqual([]);
    expect(await p.listFiles(repo, 'no-such-branch', '.')).toEqual([]);
    expect(gh.invalid).toEqual([]);
  });
});

describe('GitHub failures become named errors', () => {
  it('403 → GitHubPermissionDenied, non-retryable, and the token appears nowhere in the error', async () => {
    gh.failNext('git/create-tree', {
      status: 403,
      body: { message: 'Resource not accessible by personal access token', documentation_url: 'https://docs.github.com/rest/git/trees#create-a-tree', status: '403' },
    });
    // Through the provider's own Octokit (apiUrl), not the test's.
    const f = await failureOf(githubPrProvider({ token: TOKEN, apiUrl: gh.url }).open(request()));
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect((f as ApplicationFailure).type).toBe('GitHubPermissionDenied');
    expect((f as ApplicationFailure).nonRetryable).toBe(true);
    expect(f.message).toBe(`GitHub git.createTree on ${repo} denied (HTTP 403): Resource not accessible by personal access token`);
    const everything = JSON.stringify({ message: f.message, stack: f.stack, details: (f as ApplicationFailure).details, cause: String(f.cause) });
    expect(everything).not.toContain(TOKEN);
    expect(gh.requests.at(-1)?.authorization).toBe(`token ${TOKEN}`); // the token was sent, so it could have leaked
  });

  it('401 → GitHubPermissionDenied; unknown repository → GitHubRepoNotFound; 422 → GitHubValidationFailed with GitHub\'s errors', async () => {
    gh.failNext('git/get-ref', { status: 401, body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' } });
    const unauthorized = (await failureOf(provider().open(request()))) as ApplicationFailure;
    expect([unauthorized.type, unauthorized.nonRetryable]).toEqual(['GitHubPermissionDenied', true]);

    const missing = (await failureOf(provider().open(request({ repo: 'acme/nope' })))) as ApplicationFailure;
    expect([missing.type, missing.nonRetryable]).toEqual(['GitHubRepoNotFound', true]);
    expect(missing.message).toContain('acme/nope');

    const noBase = (await failureOf(provider().open(request({ base: 'release' })))) as ApplicationFailure;
    expect([noBase.type, noBase.message]).toEqual(['GitHubNotFound', `GitHub git.getRef on ${repo}: base branch "release" not found`]);

    gh.failNext('pulls/request-reviewers', {
      status: 422,
      body: { message: 'Reviews may only be requested from collaborators. One or more of the teams you specified is not a collaborator of the acme/infra repository.', documentation_url: 'https://docs.github.com/rest' },
    });
    const invalid = (await failureOf(provider().open(request()))) as ApplicationFailure;
    expect([invalid.type, invalid.nonRetryable]).toEqual(['GitHubValidationFailed', true]);
    expect(invalid.message).toContain('Reviews may only be requested from collaborators');

    await expect(provider().status({ repo: 'acme/nope', number: 1 })).rejects.toMatchObject({ type: 'GitHubRepoNotFound' });
    await expect(provider().readFile('acme/nope', 'main', 'x')).rejects.toMatchObject({ type: 'GitHubRepoNotFound' });
  });

  it('a secondary rate limit (403 + Retry-After) and a 503 stay plain retryable errors', async () => {
    gh.failNext('pulls/list', {
      status: 403,
      headers: { 'retry-after': '60' },
      body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', documentation_url: 'https://docs.github.com/rest' },
    });
    const limited = await failureOf(provider().open(request()));
    expect(limited).not.toBeInstanceOf(ApplicationFailure);
    expect([limited.name, (limited as unknown as { retryAfterSeconds: number }).retryAfterSeconds]).toEqual(['GitHubRateLimited', 60]);

    gh.failNext('pulls/get', { status: 503, body: { message: 'Service Unavailable' } });
    const down = await failureOf(provider().status({ repo, number: 1 }));
    expect(down).not.toBeInstanceOf(ApplicationFailure);
    expect(down.name).toBe('GitHubUnavailable');
  });
});
