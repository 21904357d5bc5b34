import { z } from 'zod';

/** The fields of a `pull_request` delivery with `action: closed` that driftplane reads; others pass through unchecked. */
export const PullRequestClosedEventSchema = z.object({
  action: z.literal('closed'),
  pull_request: z.object({
    number: z.number().int().positive(),
    html_url: z.string().min(1),
    // GitHub sends a boolean; only `true` counts as merged (a closed, unmerged PR still has a merge_commit_sha).
    merged: z.boolean().nullable().optional(),
    merged_by: z
      .object({ login: z.string().min(1) })
      .nullable()
      .optional(),
    closed_at: z.iso.datetime({ offset: true }),
    merge_commit_sha: z.string().min(1).nullable().optional(),
    head: z.object({
      ref: z.string().min(1),
      // null when the head repository (a fork) was deleted
      repo: z
        .object({ full_name: z.string().min(1) })
        .nullable()
        .optional(),
    }),
  }),
  repository: z.object({ full_name: z.string().min(1) }),
  sender: z.object({ login: z.string().min(1) }),
});
export type PullRequestClosedEvent = z.infer<typeof PullRequestClosedEventSchema>;

/** Just enough of any delivery to route it. */
export const ActionSchema = z.object({ action: z.string().optional() });

/** A body that is not a JSON object, or a content type GitHub does not send. */
export class GitHubPayloadError extends Error {
  override readonly name = 'GitHubPayloadError';
  constructor(
    message: string,
    readonly status: 400 | 415,
  ) {
    super(message);
  }
}

/**
 * The delivery's JSON object from its verified raw body: `application/json` as is, or
 * `application/x-www-form-urlencoded` with the JSON in the `payload` field (GitHub's two content
 * types). Anything else is a GitHubPayloadError (415); a body that is not a JSON object, 400.
 */
export function webhookPayload(raw: Buffer, contentType: string | undefined): Record<string, unknown> {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  let text: string;
  if (type === 'application/json') text = raw.toString('utf8');
  else if (type === 'application/x-www-form-urlencoded') {
    const payload = new URLSearchParams(raw.toString('utf8')).get('payload');
    if (payload === null) throw new GitHubPayloadError('form-encoded delivery without a payload field', 400);
    text = payload;
  } else
    throw new GitHubPayloadError(
      `unsupported content type ${JSON.stringify(type || '(none)').slice(0, 80)}: set the webhook's content type to application/json`,
      415,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GitHubPayloadError('body is not JSON', 400);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new GitHubPayloadError('body is not a JSON object', 400);
  return parsed as Record<string, unknown>;
}

/** `pull_request.head.ref`: the dotted path of a zod issue, for a 400 that names the field. */
export function fieldOf(path: readonly PropertyKey[]): string {
  return path.map(String).join('.') || '(root)';
}
