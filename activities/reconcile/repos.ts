/**
 * Where a unit's desired state lives, as a PR target: a GitHub repository (`github.com/owner/name`,
 * or the host of GITHUB_API_URL for GitHub Enterprise) or a local Git repository (`file:///abs/path`,
 * the embedded default and the demo's).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { PrProvider } from './pr-provider';

/** A PR target: which provider, which repository, which base branch, and the unit's folder in it. */
export interface RepoTarget {
  provider: PrProvider;
  repo: string;
  base: string;
  /** The unit's folder inside the repository ('' for the root). */
  dir: string;
}

/** How PR providers are reached. */
export interface RepoProviders {
  localGit: PrProvider;
  /** GitHub, when a token is configured. */
  github?: PrProvider;
  /** Extra hosts that are GitHub (GitHub Enterprise), besides github.com. */
  githubHosts?: string[];
}

/** Resolves a registry `source` (`repo`, `path`, `revision`) to a PR target. Unknown forms fail with a named, permanent error. */
export function repoTargetOf(source: { repo: string; path: string; revision?: string }, providers: RepoProviders): RepoTarget {
  const base = source.revision ?? 'main';
  const dir = source.path.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  if (source.repo.startsWith('file://')) {
    return { provider: providers.localGit, repo: decodeURIComponent(new URL(source.repo).pathname), base, dir: dir === '.' ? '' : dir };
  }
  const m = /^(?:https?:\/\/)?([^/]+)\/([\w.-]+)\/([\w.-]+?)(?:\.git)?\/?$/.exec(source.repo);
  if (m && (m[1] === 'github.com' || (providers.githubHosts ?? []).includes(m[1]!))) {
    if (!providers.github) {
      throw ApplicationFailure.nonRetryable(`a PR to ${source.repo} needs GitHub access: set GITHUB_TOKEN (and GITHUB_API_URL for GitHub Enterprise)`, 'GitHubNotConfigured');
    }
    return { provider: providers.github, repo: `${m[2]}/${m[3]}`, base, dir };
  }
  throw ApplicationFailure.nonRetryable(`cannot open a PR against ${JSON.stringify(source.repo)}: expected github.com/<owner>/<repo> or file:///<folder of a Git repository>`, 'UnsupportedRepository');
}
