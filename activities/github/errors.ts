import { ApplicationFailure } from '@temporalio/common';

/** What an Octokit `RequestError` carries that classification reads (no request, no headers we echo). */
interface OctokitErrorLike {
  status?: number;
  message?: string;
  response?: {
    headers?: Record<string, string | number | undefined>;
    data?: unknown;
  };
}

/** One entry of GitHub's `errors` array on a 422 (`{ resource, field, code, message }`), or a plain string. */
type GitHubErrorEntry = string | { resource?: string; field?: string; code?: string; message?: string };

/** The token (401) or its permissions (403, not a rate limit) do not allow the call. Retrying cannot help. */
export class GitHubPermissionDenied extends Error {
  override readonly name = 'GitHubPermissionDenied';
  constructor(
    readonly operation: string,
    readonly repo: string,
    readonly status: number,
    detail: string,
  ) {
    super(`GitHub ${operation} on ${repo} denied (HTTP ${status}): ${detail}`);
  }
}

/** The repository does not exist, or the token cannot see it (GitHub answers 404 for both). */
export class GitHubRepoNotFound extends Error {
  override readonly name = 'GitHubRepoNotFound';
  constructor(
    readonly operation: string,
    readonly repo: string,
  ) {
    super(`GitHub ${operation}: repository ${repo} not found (it does not exist or the token cannot see it)`);
  }
}

/** Something other than the repository is missing (the base branch, a pull request). */
export class GitHubNotFound extends Error {
  override readonly name = 'GitHubNotFound';
  constructor(
    readonly operation: string,
    readonly repo: string,
    readonly what: string,
  ) {
    super(`GitHub ${operation} on ${repo}: ${what} not found`);
  }
}

/** GitHub refused the request as invalid (HTTP 422), with GitHub's own reasons. */
export class GitHubValidationFailed extends Error {
  override readonly name = 'GitHubValidationFailed';
  constructor(
    readonly operation: string,
    readonly repo: string,
    readonly reasons: string[],
  ) {
    super(`GitHub ${operation} on ${repo} rejected the request (HTTP 422): ${reasons.join('; ') || 'validation failed'}`);
  }
}

/** A primary or secondary rate limit (403/429 with GitHub's rate-limit signals). Retryable: Temporal retries it. */
export class GitHubRateLimited extends Error {
  override readonly name = 'GitHubRateLimited';
  constructor(
    readonly operation: string,
    readonly repo: string,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(
      `GitHub ${operation} on ${repo} is rate limited${retryAfterSeconds !== undefined ? `: retry after ${retryAfterSeconds}s` : ''}`,
    );
  }
}

/** GitHub answered 5xx, or could not be reached. Retryable: Temporal retries it. */
export class GitHubUnavailable extends Error {
  override readonly name = 'GitHubUnavailable';
  constructor(
    readonly operation: string,
    readonly repo: string,
    readonly status: number | undefined,
    detail: string,
  ) {
    super(`GitHub ${operation} on ${repo} unavailable${status ? ` (HTTP ${status})` : ''}: ${detail}`);
  }
}

/** Any GitHub failure as one of the named errors above. */
export type GitHubError =
  | GitHubPermissionDenied
  | GitHubRepoNotFound
  | GitHubNotFound
  | GitHubValidationFailed
  | GitHubRateLimited
  | GitHubUnavailable;

/** The HTTP status of an Octokit error, or undefined for anything else. */
export function githubStatus(err: unknown): number | undefined {
  const s = (err as OctokitErrorLike | undefined)?.status;
  return typeof s === 'number' && s > 0 ? s : undefined;
}

/** GitHub's `message` from an error response body, if any. */
export function githubMessage(err: unknown): string {
  const data = (err as OctokitErrorLike | undefined)?.response?.data;
  if (data && typeof data === 'object' && typeof (data as { message?: unknown }).message === 'string')
    return (data as { message: string }).message;
  return '';
}

/** GitHub's reasons on a 422: the message and every entry of `errors`. */
export function githubReasons(err: unknown): string[] {
  const data = (err as OctokitErrorLike | undefined)?.response?.data as
    | { message?: string; errors?: GitHubErrorEntry[] }
    | undefined;
  const reasons: string[] = [];
  if (data?.message) reasons.push(data.message);
  for (const e of Array.isArray(data?.errors) ? data.errors : []) {
    if (typeof e === 'string') reasons.push(e);
    else if (e && typeof e === 'object')
      reasons.push(
        e.message ?? [e.resource, e.field, e.code].filter((x): x is string => typeof x === 'string').join(' '),
      );
  }
  return reasons.filter((r) => r.length > 0);
}

const TOKEN_PATTERN = /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g;

/** Removes the token (and anything shaped like a GitHub token) from a text that reaches a message. */
export function scrubToken(text: string, token: string | undefined): string {
  let out = text;
  if (token && token.length >= 4) out = out.split(token).join('[token]');
  return out.replace(TOKEN_PATTERN, '[token]');
}

function header(err: unknown, name: string): string | undefined {
  const v = (err as OctokitErrorLike | undefined)?.response?.headers?.[name];
  return v === undefined ? undefined : String(v);
}

function isRateLimit(err: unknown, status: number): boolean {
  if (status === 429) return true;
  if (status !== 403) return false;
  // Primary limit: remaining 0. Secondary limit: GitHub says so in the message (and may send Retry-After).
  return (
    header(err, 'x-ratelimit-remaining') === '0' ||
    header(err, 'retry-after') !== undefined ||
    /rate limit/i.test(githubMessage(err))
  );
}

function retryAfterSeconds(err: unknown): number | undefined {
  const after = Number(header(err, 'retry-after'));
  if (Number.isFinite(after) && after >= 0) return after;
  const reset = Number(header(err, 'x-ratelimit-reset'));
  if (Number.isFinite(reset) && reset > 0) return Math.max(0, Math.ceil(reset - Date.now() / 1000));
  return undefined;
}

/**
 * Classifies an Octokit error as a named GitHub error. A 404 is taken to mean the repository:
 * callers that expect a 404 (a branch, a PR, a file that may be absent) handle it before this.
 * Messages carry the operation, the repository and GitHub's own words, never the token.
 */
export function githubError(operation: string, repo: string, err: unknown, token?: string): GitHubError {
  const status = githubStatus(err);
  const said = scrubToken(githubMessage(err), token);
  if (status !== undefined && isRateLimit(err, status)) return new GitHubRateLimited(operation, repo, retryAfterSeconds(err));
  if (status === 401 || status === 403) return new GitHubPermissionDenied(operation, repo, status, said || 'forbidden');
  if (status === 404) return new GitHubRepoNotFound(operation, repo);
  if (status === 422) return new GitHubValidationFailed(operation, repo, githubReasons(err).map((r) => scrubToken(r, token)));
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 409)
    return new GitHubValidationFailed(operation, repo, [`HTTP ${status}${said ? `: ${said}` : ''}`]);
  const detail = said || scrubToken((err as OctokitErrorLike | undefined)?.message ?? String(err), token);
  return new GitHubUnavailable(operation, repo, status, detail);
}

/** The named errors retrying cannot cure. */
const PERMANENT = new Set(['GitHubPermissionDenied', 'GitHubRepoNotFound', 'GitHubNotFound', 'GitHubValidationFailed']);

/**
 * What an activity throws for a GitHub failure: permanent ones become
 * `ApplicationFailure.nonRetryable(message, '<Name>')`; rate limits and outages stay plain named
 * Errors, which Temporal's retry policy retries. An ApplicationFailure passes through unchanged.
 */
export function toGitHubFailure(operation: string, repo: string, err: unknown, token?: string): Error {
  if (err instanceof ApplicationFailure) return err;
  const named = isGitHubError(err) ? err : githubError(operation, repo, err, token);
  return PERMANENT.has(named.name) ? ApplicationFailure.nonRetryable(named.message, named.name) : named;
}

function isGitHubError(err: unknown): err is GitHubError {
  return (
    err instanceof GitHubPermissionDenied ||
    err instanceof GitHubRepoNotFound ||
    err instanceof GitHubNotFound ||
    err instanceof GitHubValidationFailed ||
    err instanceof GitHubRateLimited ||
    err instanceof GitHubUnavailable
  );
}
