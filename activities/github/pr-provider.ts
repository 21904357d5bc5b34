import type { Octokit } from '@octokit/rest';
import type * as OctokitRest from '@octokit/rest';
import { branchOf } from '../../domain/reconcile/branch';
import type { PrProvider, PrRef, PrRequest, PrStatus } from '../reconcile/pr-provider';
import { GitHubNotFound, GitHubRepoNotFound, GitHubValidationFailed, githubReasons, githubStatus, toGitHubFailure } from './errors';

/** How driftplane reaches GitHub's REST API. */
export interface GitHubPrProviderConfig {
  /** A token allowed to write contents and pull requests on the repositories (`GITHUB_TOKEN`). Never logged. */
  token: string;
  /** The REST API base URL (`GITHUB_API_URL`; default https://api.github.com; GHES: https://host/api/v3). */
  apiUrl?: string;
  /** The User-Agent GitHub requires (default `driftplane`). */
  userAgent?: string;
  /** Milliseconds before one request gives up (default 30 s); a timeout is retryable. */
  timeoutMs?: number;
  /** An Octokit to use instead of building one (tests, GitHub App auth); `token`, `apiUrl`, `userAgent` are then unused. */
  octokit?: Octokit;
}

type OctokitModule = typeof OctokitRest;
let octokitModule: Promise<OctokitModule> | undefined;

/**
 * `@octokit/rest` v22 is ESM-only and this repository is CommonJS (run through tsx). A dynamic
 * import loads it on every Node 20 (a static one would need Node's require(esm), 20.19+), once.
 */
export function loadOctokit(): Promise<OctokitModule> {
  octokitModule ??= import('@octokit/rest').catch((err: unknown) => {
    octokitModule = undefined;
    throw err;
  });
  return octokitModule;
}

/** An Octokit for the config: no retries of its own (Temporal retries), quiet logs, a per-request timeout. */
export async function createGitHubClient(config: Omit<GitHubPrProviderConfig, 'octokit'>): Promise<Octokit> {
  const { Octokit } = await loadOctokit();
  const timeoutMs = config.timeoutMs ?? 30_000;
  const noop = () => undefined;
  return new Octokit({
    auth: config.token,
    baseUrl: (config.apiUrl ?? 'https://api.github.com').replace(/\/+$/, ''),
    userAgent: config.userAgent ?? 'driftplane',
    // Octokit logs every failed request at error level, expected 404s included: failures surface as thrown errors instead.
    log: { debug: noop, info: noop, warn: noop, error: noop },
    request: {
      fetch: (url: string | URL, init?: RequestInit) =>
        fetch(url, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) }),
    },
  });
}

/** `owner/name` split, or a non-retryable failure. */
function parseRepo(repo: string): { owner: string; repo: string } {
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/.exec(repo);
  if (!m) throw toGitHubFailure('open', JSON.stringify(repo), new GitHubValidationFailed('open', JSON.stringify(repo), ['not a GitHub repository (expected owner/name)']));
  return { owner: m[1] as string, repo: m[2] as string };
}

/** The fields of a pull request (from pulls.list, pulls.create or pulls.get) this provider reads. */
interface PullLike {
  number: number;
  html_url: string;
  state: string;
  head: { sha: string; ref: string };
  labels?: Array<{ name?: string } | string>;
}

/**
 * Reconciliation pull requests on GitHub through `@octokit/rest`. Idempotent by finding: the
 * branch is `req.branch ?? branchOf(findingId)`; a retry finds the branch and its PR (open or closed) and
 * creates only what is missing. The change is one commit made through the Git data API (one
 * tree with every file inline, one commit on the base branch's head, one ref), so no clone is
 * needed. Failures become named errors: GitHubPermissionDenied, GitHubRepoNotFound,
 * GitHubNotFound and GitHubValidationFailed non-retryable; rate limits and 5xx retryable.
 */
export function githubPrProvider(config: GitHubPrProviderConfig): PrProvider {
  const token = config.token;
  let client: Promise<Octokit> | undefined;
  const gh = (): Promise<Octokit> => (client ??= config.octokit ? Promise.resolve(config.octokit) : createGitHubClient(config));

  /** Runs one call, turning its failure into a named error. */
  const call = async <T>(operation: string, repo: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toGitHubFailure(operation, repo, err, token);
    }
  };

  /** Like `call`, but a 404 is an answer (undefined), unless the repository itself is missing. */
  const callOr404 = async <T>(operation: string, repo: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      if (githubStatus(err) === 404) return undefined;
      throw toGitHubFailure(operation, repo, err, token);
    }
  };

  /** After an unexpected 404: GitHubRepoNotFound when the repository is missing, else GitHubNotFound naming `what`. */
  const notFound = async (operation: string, full: string, what: string): Promise<Error> => {
    const { owner, repo } = parseRepo(full);
    const octokit = await gh();
    const exists = await callOr404('repos.get', full, () => octokit.rest.repos.get({ owner, repo }));
    return toGitHubFailure(operation, full, exists ? new GitHubNotFound(operation, full, what) : new GitHubRepoNotFound(operation, full), token);
  };

  const refSha = async (full: string, ref: string): Promise<string | undefined> => {
    const { owner, repo } = parseRepo(full);
    const octokit = await gh();
    const res = await callOr404('git.getRef', full, () => octokit.rest.git.getRef({ owner, repo, ref }));
    return res?.data.object.sha;
  };

  /** The finding's PR, open or closed (the newest when several were opened from the branch). */
  const findPr = async (full: string, branch: string): Promise<PullLike | undefined> => {
    const { owner, repo } = parseRepo(full);
    const octokit = await gh();
    const res = await call('pulls.list', full, () =>
      octokit.rest.pulls.list({ owner, repo, head: `${owner}:${branch}`, state: 'all', per_page: 100 }),
    );
    const mine = res.data.filter((p) => p.head.ref === branch);
    return mine.find((p) => p.state === 'open') ?? mine.sort((a, b) => b.number - a.number)[0];
  };

  /**
   * Requests reviewers and adds labels. Labels go last, so a PR carrying none of the request's
   * labels is one whose opening stopped between pulls.create and addLabels (a crash): a retry
   * finishes it. A PR that carries them is left alone (a reviewer who already reviewed is not
   * requested again).
   */
  const finishSetup = async (req: PrRequest, pr: PullLike, justCreated: boolean): Promise<void> => {
    const { owner, repo } = parseRepo(req.repo);
    const octokit = await gh();
    const has = new Set((pr.labels ?? []).map((l) => (typeof l === 'string' ? l : (l.name ?? ''))));
    const unfinished = req.labels.length > 0 && pr.state === 'open' && !req.labels.some((l) => has.has(l));
    if (!justCreated && !unfinished) return;
    if (req.reviewers.teams.length > 0 || req.reviewers.users.length > 0)
      await call('pulls.requestReviewers', req.repo, () =>
        octokit.rest.pulls.requestReviewers({
          owner,
          repo,
          pull_number: pr.number,
          reviewers: req.reviewers.users,
          team_reviewers: req.reviewers.teams,
        }),
      );
    if (req.labels.length > 0)
      await call('issues.addLabels', req.repo, () =>
        octokit.rest.issues.addLabels({ owner, repo, issue_number: pr.number, labels: req.labels }),
      );
  };

  const prRef = (req: PrRequest, branch: string, pr: PullLike, commit: string, created: boolean): PrRef => ({
    provider: 'github',
    repo: req.repo,
    number: pr.number,
    url: pr.html_url,
    branch,
    commit,
    created,
  });

  return {
    name: 'github',

    async open(req: PrRequest): Promise<PrRef> {
      const { owner, repo } = parseRepo(req.repo);
      const branch = req.branch ?? branchOf(req.findingId);
      const octokit = await gh();

      const baseSha = await refSha(req.repo, `heads/${req.base}`);
      if (!baseSha) throw await notFound('git.getRef', req.repo, `base branch ${JSON.stringify(req.base)}`);
      let commit = await refSha(req.repo, `heads/${branch}`);

      const existing = await findPr(req.repo, branch);
      if (existing) {
        await finishSetup(req, existing, false);
        return prRef(req, branch, existing, existing.head.sha, false);
      }

      if (!commit) {
        const base = await call('git.getCommit', req.repo, () => octokit.rest.git.getCommit({ owner, repo, commit_sha: baseSha }));
        const tree = await call('git.createTree', req.repo, () =>
          octokit.rest.git.createTree({
            owner,
            repo,
            base_tree: base.data.tree.sha,
            tree: req.files.map((f) => ({ path: f.path, mode: '100644' as const, type: 'blob' as const, content: f.content })),
          }),
        );
        const made = await call('git.createCommit', req.repo, () =>
          octokit.rest.git.createCommit({ owner, repo, message: req.message ?? req.title, tree: tree.data.sha, parents: [baseSha] }),
        );
        try {
          await octokit.rest.git.createRef({ owner, repo, ref: `refs/heads/${branch}`, sha: made.data.sha });
          commit = made.data.sha;
        } catch (err) {
          // Another attempt created the branch between our look and our write: use its head.
          if (!(githubStatus(err) === 422 && githubReasons(err).some((r) => /already exists/i.test(r))))
            throw toGitHubFailure('git.createRef', req.repo, err, token);
          commit = await refSha(req.repo, `heads/${branch}`);
          if (!commit) throw toGitHubFailure('git.createRef', req.repo, err, token);
        }
      }

      let pr: PullLike;
      let created = true;
      try {
        pr = (await octokit.rest.pulls.create({ owner, repo, title: req.title, body: req.body, head: branch, base: req.base })).data;
      } catch (err) {
        const again = githubStatus(err) === 422 && githubReasons(err).some((r) => /pull request already exists/i.test(r));
        const found = again ? await findPr(req.repo, branch) : undefined;
        if (!found) throw toGitHubFailure('pulls.create', req.repo, err, token);
        pr = found;
        created = false;
      }
      await finishSetup(req, pr, created);
      return prRef(req, branch, pr, created ? commit : pr.head.sha, created);
    },

    async status(ref: { repo: string; number: number }): Promise<PrStatus> {
      const { owner, repo } = parseRepo(ref.repo);
      const octokit = await gh();
      const res = await callOr404('pulls.get', ref.repo, () => octokit.rest.pulls.get({ owner, repo, pull_number: ref.number }));
      if (!res) throw await notFound('pulls.get', ref.repo, `pull request #${ref.number}`);
      const pr = res.data;
      if (pr.merged || pr.merged_at)
        return {
          state: 'merged',
          ...(pr.merged_at ? { at: pr.merged_at } : {}),
          ...(pr.merged_by?.login ? { by: pr.merged_by.login } : {}),
          ...(pr.merge_commit_sha ? { mergeCommit: pr.merge_commit_sha } : {}),
        };
      if (pr.state === 'closed') return { state: 'closed', ...(pr.closed_at ? { at: pr.closed_at } : {}) };
      return { state: 'open' };
    },

    async readFile(full: string, branch: string, path: string): Promise<string | undefined> {
      const { owner, repo } = parseRepo(full);
      const octokit = await gh();
      const res = await callOr404('repos.getContent', full, () => octokit.rest.repos.getContent({ owner, repo, path, ref: branch }));
      if (!res) {
        // GitHub says 404 for a missing file, branch or repository alike: only the last is a failure.
        const exists = await callOr404('repos.get', full, () => octokit.rest.repos.get({ owner, repo }));
        if (!exists) throw toGitHubFailure('repos.getContent', full, new GitHubRepoNotFound('repos.getContent', full), token);
        return undefined;
      }
      const data = res.data;
      // A directory (an array) or a symlink/submodule at the path is not a file.
      if (Array.isArray(data) || data.type !== 'file') return undefined;
      if (data.encoding === 'base64' && (data.content !== '' || data.size === 0)) return Buffer.from(data.content, 'base64').toString('utf8');
      // Files over 1 MB come without content (encoding "none"): read the blob.
      const blob = await call('git.getBlob', full, () => octokit.rest.git.getBlob({ owner, repo, file_sha: data.sha }));
      return Buffer.from(blob.data.content, blob.data.encoding === 'base64' ? 'base64' : 'utf8').toString('utf8');
    },

    async listFiles(full: string, branch: string, dir: string): Promise<string[]> {
      const { owner, repo } = parseRepo(full);
      const octokit = await gh();
      const folder = dir.replace(/^\.?\/+|\/+$/g, '').replace(/^\.$/, '');
      const missing = async (): Promise<string[]> => {
        const exists = await callOr404('repos.get', full, () => octokit.rest.repos.get({ owner, repo }));
        if (!exists) throw toGitHubFailure('listFiles', full, new GitHubRepoNotFound('listFiles', full), token);
        return [];
      };
      if (folder === '') {
        // The contents API needs a path: the root is read as the branch head's tree (not recursive).
        const head = await refSha(full, `heads/${branch}`);
        if (!head) return missing();
        const commit = await call('git.getCommit', full, () => octokit.rest.git.getCommit({ owner, repo, commit_sha: head }));
        const tree = await call('git.getTree', full, () => octokit.rest.git.getTree({ owner, repo, tree_sha: commit.data.tree.sha }));
        return tree.data.tree
          .filter((e) => e.type === 'blob' && typeof e.path === 'string')
          .map((e) => e.path as string)
          .sort();
      }
      const res = await callOr404('repos.getContent', full, () => octokit.rest.repos.getContent({ owner, repo, path: folder, ref: branch }));
      if (!res) return missing();
      // A file at the path (an object, not a listing) is not a folder.
      if (!Array.isArray(res.data)) return [];
      return res.data
        .filter((e) => e.type === 'file')
        .map((e) => e.path)
        .sort();
    },
  };
}
