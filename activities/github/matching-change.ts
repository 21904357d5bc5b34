import type { Octokit } from '@octokit/rest';
import { changeKindOf, matchChangeToDrift, type ChangedFile } from '../../domain/audit/matching-change';
import type { DriftManagedUnit } from '../../registry';
import type { ContextPatch, ContextSource } from '../context/source';
import { windowOf, type MatchingChangeWindowOptions } from '../git-local/matching-change';
import { githubError, githubStatus } from './errors';
import { createGitHubClient } from './pr-provider';

/** How the GitHub history source reaches GitHub. */
export interface GitHubMatchingChangeOptions extends MatchingChangeWindowOptions {
  /**
   * The token (`GITHUB_TOKEN`), read when a detection asks: a function is called each time, so a
   * rotated token file is picked up. It goes only into the Authorization header, never into messages.
   */
  token?: string | (() => string | Promise<string>);
  /** The REST API base URL (`GITHUB_API_URL`; default https://api.github.com; GHES: https://host/api/v3). */
  apiUrl?: string;
  /** Hosts besides github.com that are GitHub (Enterprise). */
  githubHosts?: string[];
  /** Milliseconds before one request gives up (default 30 s). */
  timeoutMs?: number;
  /** An Octokit to use instead (tests, GitHub App auth); token and apiUrl are then unused. */
  octokit?: Octokit;
}

/** The GitHub repository of a unit's source (`github.com/owner/name[.git]`, or a configured GHES host), or undefined. */
export function githubSourceOf(
  unit: DriftManagedUnit,
  hosts: readonly string[] = [],
): { owner: string; repo: string; dir: string; revision: string } | undefined {
  const src = unit.spec.source;
  const m = /^(?:https?:\/\/)?([^/]+)\/([\w.-]+)\/([\w.-]+?)(?:\.git)?\/?$/.exec(src.repo);
  if (!m || !(m[1] === 'github.com' || hosts.includes(m[1]!))) return undefined;
  const dir = src.path.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  return { owner: m[2]!, repo: m[3]!, dir: dir === '.' ? '' : dir, revision: src.revision ?? 'main' };
}

const DEFINING = /\.(ya?ml|json|tf|hcl)$/i;

interface ListedCommit {
  sha: string;
  html_url: string;
  commit: { message: string; committer: { date?: string } | null; author: { date?: string } | null };
  parents: { sha: string }[];
}

/**
 * The history of a unit's source on GitHub as a context source (`github-history`): the same
 * matching as the local `git-history` source (domain/audit/matching-change.ts), through the REST
 * API with Octokit: `repos.listCommits` (sha = the unit's revision, path = its folder, since/until
 * = the detection window), `repos.getCommit` for the files a commit changed, `repos.getContent`
 * for a file before (first parent) and after, and `repos.listPullRequestsAssociatedWithCommit`
 * for the merged PR a commit belongs to. A match is `{ kind: 'pr', ref: <PR html_url> }` or
 * `{ kind: 'apply', ref: <commit html_url> }`. Units whose source is not on GitHub get nothing; a
 * GitHub failure throws a named error without the token (the context is then unjoined).
 */
export function githubMatchingChangeSource(options: GitHubMatchingChangeOptions): ContextSource {
  const client = async (): Promise<{ octokit: Octokit; token?: string }> => {
    if (options.octokit) return { octokit: options.octokit };
    const token = typeof options.token === 'function' ? await options.token() : options.token;
    if (!token) throw new Error('GitHub history needs a token: set GITHUB_TOKEN');
    return {
      token,
      octokit: await createGitHubClient({
        token,
        ...(options.apiUrl ? { apiUrl: options.apiUrl } : {}),
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      }),
    };
  };

  return {
    name: 'github-history',
    async contextFor({ unit, observations }) {
      const where = githubSourceOf(unit, options.githubHosts);
      if (!where || observations.length === 0) return observations.map(() => undefined);
      const { owner, repo, dir, revision } = where;
      const full = `${owner}/${repo}`;
      const { octokit, token } = await client();
      const call = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
        try {
          return await fn();
        } catch (err) {
          throw githubError(operation, full, err, token);
        }
      };

      const windows = await Promise.all(observations.map((o) => windowOf(o, options)));
      const since = new Date(Math.min(...windows.map((w) => w.since))).toISOString();
      const until = new Date(Math.max(...windows.map((w) => w.until))).toISOString();
      const listed = await call('repos.listCommits', () =>
        octokit.rest.repos.listCommits({
          owner,
          repo,
          sha: revision,
          ...(dir ? { path: dir } : {}),
          since,
          until,
          per_page: Math.min(options.maxCommits ?? 100, 100),
        }),
      );
      const commits = listed.data as ListedCommit[];

      const content = async (path: string, ref: string): Promise<string | undefined> => {
        try {
          const res = await octokit.rest.repos.getContent({ owner, repo, path, ref });
          const data = res.data as { type?: string; encoding?: string; content?: string };
          if (Array.isArray(res.data) || data.type !== 'file' || typeof data.content !== 'string')
            return undefined;
          return Buffer.from(data.content, data.encoding === 'base64' ? 'base64' : 'utf8').toString('utf8');
        } catch (err) {
          if (githubStatus(err) === 404) return undefined;
          throw githubError('repos.getContent', full, err, token);
        }
      };
      const filesCache = new Map<string, Promise<ChangedFile[]>>();
      const filesOf = (c: ListedCommit): Promise<ChangedFile[]> => {
        let got = filesCache.get(c.sha);
        if (!got) {
          got = (async () => {
            const detail = await call('repos.getCommit', () =>
              octokit.rest.repos.getCommit({ owner, repo, ref: c.sha }),
            );
            const parent = c.parents[0]?.sha;
            const touched = (detail.data.files ?? []).filter(
              (f) => (!dir || f.filename.startsWith(`${dir}/`)) && DEFINING.test(f.filename),
            );
            return Promise.all(
              touched.map(async (f) => {
                const [before, after] = await Promise.all([
                  parent && f.status !== 'added'
                    ? content(f.previous_filename ?? f.filename, parent)
                    : Promise.resolve(undefined),
                  f.status === 'removed' ? Promise.resolve(undefined) : content(f.filename, c.sha),
                ]);
                return {
                  path: f.filename,
                  ...(before !== undefined ? { before } : {}),
                  ...(after !== undefined ? { after } : {}),
                };
              }),
            );
          })();
          filesCache.set(c.sha, got);
        }
        return got;
      };
      const changeOf = async (c: ListedCommit): Promise<NonNullable<ContextPatch['matchingChange']>> => {
        const pulls = await call('repos.listPullRequestsAssociatedWithCommit', () =>
          octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner, repo, commit_sha: c.sha }),
        );
        const merged = pulls.data.find((p) => p.merged_at !== null && p.merged_at !== undefined);
        if (merged) return { kind: 'pr', ref: merged.html_url };
        const kind = changeKindOf({
          subject: c.commit.message.split('\n')[0] ?? '',
          parents: c.parents.length,
        });
        const web = c.html_url.replace(/\/commit\/[0-9a-f]+$/, '');
        return kind.pr !== undefined
          ? { kind: 'pr', ref: `${web}/pull/${kind.pr}` }
          : { kind: kind.kind, ref: c.html_url };
      };

      const out: (ContextPatch | undefined)[] = [];
      for (const [i, o] of observations.entries()) {
        const w = windows[i]!;
        let patch: ContextPatch | undefined;
        for (const c of commits) {
          const at = Date.parse(c.commit.committer?.date ?? c.commit.author?.date ?? '');
          if (Number.isNaN(at) || at < w.since || at > w.until) continue;
          if (!matchChangeToDrift(o, await filesOf(c))) continue;
          patch = { matchingChange: await changeOf(c) };
          break;
        }
        out.push(patch);
      }
      return out;
    },
  };
}
