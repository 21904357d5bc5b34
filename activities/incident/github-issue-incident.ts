import { ApplicationFailure } from '@temporalio/common';
import type * as OctokitRest from '@octokit/rest';
import type { Octokit } from '@octokit/rest';
import type { IncidentAdapter, IncidentInput, IncidentRef } from './incident-adapter';

/** The label every driftplane incident issue carries; the idempotency search filters on it. */
export const DRIFTPLANE_ISSUE_LABEL = 'driftplane';

/** The body line that ties an issue to its finding. */
export function findingMarker(findingId: string): string {
  return `driftplane-finding: ${findingId}`;
}

/** A GitHub call of the issue adapter failed. Retryable unless GitHub said the request itself is wrong. */
export class GitHubIssueFailed extends Error {
  override readonly name = 'GitHubIssueFailed';
  constructor(
    readonly repo: string,
    readonly operation: string,
    readonly httpStatus: number | undefined,
    detail: string,
  ) {
    super(`GitHub ${operation} on ${repo} failed: ${detail}`);
  }
}

// @octokit/rest is ESM-only: loaded once, on first use, so this module also loads where require() of ESM is unavailable.
let octokitModule: Promise<typeof OctokitRest> | undefined;
function loadOctokit(): Promise<typeof OctokitRest> {
  octokitModule ??= import('@octokit/rest');
  return octokitModule;
}

/** The issue body: the summary, the details, the links, and the marker line last. */
export function incidentIssueBody(input: IncidentInput): string {
  const parts = [
    `**${input.severity.toUpperCase()}** drift incident on \`${input.source}\``,
    '',
    input.summary,
    '',
    ...(input.component !== undefined ? [`- component: \`${input.component}\``] : []),
    ...(input.group !== undefined ? [`- group: \`${input.group}\``] : []),
  ];
  if (input.customDetails && Object.keys(input.customDetails).length > 0)
    parts.push('', '```json', JSON.stringify(input.customDetails, null, 2), '```');
  if (input.links?.length)
    parts.push('', ...input.links.map((l) => `- [${l.text.replace(/[[\]]/g, '')}](${l.href})`));
  parts.push('', findingMarker(input.findingId));
  return parts.join('\n');
}

/**
 * The GitHub issue adapter: one issue per finding in `repo` (`owner/name`), labelled `driftplane`
 * plus `labels`. Idempotent: before creating, the repository's open issues labelled `driftplane`
 * are read (every page) and an issue whose body has the line `driftplane-finding: <findingId>` is
 * returned instead (`created: false`). The incident id is `owner/repo#number`.
 *
 * Failures are ApplicationFailures of type `GitHubIssueFailed`: 400/401/404/410/422 are
 * non-retryable (the token, the repository or the request is wrong); 403 rate limits, 429 and
 * 5xx are retried. The token never appears in a message.
 */
export function githubIssueIncident(opts: {
  token: string;
  apiUrl?: string;
  repo: string;
  labels?: string[];
}): IncidentAdapter {
  const m = /^([\w.-]+)\/([\w.-]+)$/.exec(opts.repo);
  if (!m) throw new Error(`githubIssueIncident: repo must be owner/name, got ${JSON.stringify(opts.repo)}`);
  const [, owner, repo] = m as unknown as [string, string, string];
  const labels = [DRIFTPLANE_ISSUE_LABEL, ...(opts.labels ?? []).filter((l) => l !== DRIFTPLANE_ISSUE_LABEL)];
  let client: Octokit | undefined;
  const octokit = async (): Promise<Octokit> => {
    if (!client) {
      const { Octokit } = await loadOctokit();
      client = new Octokit({
        auth: opts.token,
        userAgent: 'driftplane',
        ...(opts.apiUrl ? { baseUrl: opts.apiUrl.replace(/\/+$/, '') } : {}),
        log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      });
    }
    return client;
  };
  const call = async <T>(operation: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      const httpStatus = typeof status === 'number' ? status : undefined;
      const message = String(
        (err as { response?: { data?: { message?: unknown } } }).response?.data?.message ??
          (err instanceof Error ? err.message : String(err)),
      );
      // Octokit's messages never carry the Authorization header; a body that echoes the token is still scrubbed.
      const clean = opts.token.length >= 8 ? message.split(opts.token).join('[token]') : message;
      const e = new GitHubIssueFailed(
        opts.repo,
        operation,
        httpStatus,
        httpStatus ? `HTTP ${httpStatus}: ${clean}` : clean,
      );
      const rateLimited = httpStatus === 429 || (httpStatus === 403 && /rate limit/i.test(clean));
      const permanent =
        httpStatus !== undefined && !rateLimited && [400, 401, 403, 404, 410, 422].includes(httpStatus);
      throw ApplicationFailure.create({
        type: e.name,
        message: e.message,
        nonRetryable: permanent,
        details: [{ repo: opts.repo, operation, httpStatus }],
      });
    }
  };

  return {
    name: 'github-issue',
    async open(input: IncidentInput): Promise<IncidentRef> {
      const gh = await octokit();
      const marker = findingMarker(input.findingId);
      const found = await call('issues.listForRepo', async () => {
        for await (const page of gh.paginate.iterator(gh.rest.issues.listForRepo, {
          owner,
          repo,
          state: 'open',
          labels: DRIFTPLANE_ISSUE_LABEL,
          per_page: 100,
        })) {
          // The issues list also holds pull requests; the marker is matched as a whole line.
          const hit = page.data.find(
            (i) => !i.pull_request && (i.body ?? '').split(/\r?\n/).some((line) => line.trim() === marker),
          );
          if (hit) return hit;
        }
        return undefined;
      });
      if (found)
        return {
          adapter: 'github-issue',
          incidentId: `${owner}/${repo}#${found.number}`,
          url: found.html_url,
          created: false,
        };
      const created = await call('issues.create', () =>
        gh.rest.issues.create({ owner, repo, title: input.title, body: incidentIssueBody(input), labels }),
      );
      return {
        adapter: 'github-issue',
        incidentId: `${owner}/${repo}#${created.data.number}`,
        url: created.data.html_url,
        created: true,
      };
    },
  };
}
