/**
 * Where desired state changes: a pull request against the repository a unit's `source` names.
 * Two providers implement it: GitHub (activities/github, Octokit) and a local Git repository
 * handled with real `git` (activities/git-local, the embedded default and the demo's).
 * Both are idempotent by finding: the branch is `branchOf(findingId)` and a retry finds the
 * branch and PR again instead of creating a second one.
 */

/** One file of the commit: its path from the repository root and its whole new content. */
export interface FileChange {
  path: string;
  content: string;
}

/** What a reconciliation PR is made of. */
export interface PrRequest {
  findingId: string;
  /** The branch (default `branchOf(findingId)`); a PR opened again after one was closed unmerged gets `<branch>-r<n>`. */
  branch?: string;
  /** GitHub: `owner/name`. Local Git: the repository's folder (absolute). */
  repo: string;
  /** The branch the PR merges into (the unit's `source.revision`, default `main`). */
  base: string;
  title: string;
  body: string;
  /** One commit with every file. */
  files: FileChange[];
  /** The commit message (default: the title). */
  message?: string;
  labels: string[];
  /** Reviewers requested: teams (GitHub team slugs) and users. */
  reviewers: { teams: string[]; users: string[] };
}

/** A reconciliation PR as it exists. */
export interface PrRef {
  provider: 'github' | 'local-git';
  repo: string;
  number: number;
  url: string;
  branch: string;
  /** The head commit of the branch. */
  commit: string;
  /** False when the branch and PR already existed (a retry found them). */
  created: boolean;
  /** Local Git: where the PR's record (and body) is kept. */
  recordPath?: string;
}

/** Where a PR stands. */
export interface PrStatus {
  state: 'open' | 'merged' | 'closed';
  at?: string;
  by?: string;
  mergeCommit?: string;
}

/** A place reconciliation PRs are opened. */
export interface PrProvider {
  readonly name: 'github' | 'local-git';
  /** Opens (or finds again) the finding's PR. */
  open(req: PrRequest): Promise<PrRef>;
  /** The PR's state now (the durable poll that covers lost webhooks). */
  status(ref: { repo: string; number: number }): Promise<PrStatus>;
  /** A file's content on a branch, undefined when it does not exist. */
  readFile(repo: string, branch: string, path: string): Promise<string | undefined>;
  /** The files (paths from the repository root) directly inside a folder on a branch; [] when it does not exist. */
  listFiles(repo: string, branch: string, dir: string): Promise<string[]>;
}
