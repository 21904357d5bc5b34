import { z } from 'zod';

/**
 * The parts of Slack interaction payloads driftplane reads
 * (https://docs.slack.dev/reference/interaction-payloads/). Every other field is allowed and
 * ignored: Slack adds fields over time, and the java-slack-sdk's block_actions sample shows many.
 */
const User = z.object({ id: z.string().min(1).max(64) });

/** `block_actions`: a person clicked a button of our message. */
export const BlockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: User,
  trigger_id: z.string().min(1).max(200),
  channel: z.object({ id: z.string().max(64) }).optional(),
  container: z.object({ channel_id: z.string().max(64).optional() }).optional(),
  response_url: z.string().max(2000).optional(),
  actions: z
    .array(z.object({ action_id: z.string().max(255), value: z.string().max(2000).optional() }))
    .min(1),
});
export type BlockActions = z.infer<typeof BlockActionsSchema>;

/** `view_submission`: a person submitted our reason modal. */
export const ViewSubmissionSchema = z.object({
  type: z.literal('view_submission'),
  user: User,
  view: z.object({
    callback_id: z.string().max(255),
    private_metadata: z.string().max(3000),
    state: z.object({
      values: z.record(
        z.string(),
        z.record(z.string(), z.object({ type: z.string().optional(), value: z.string().nullish() })),
      ),
    }),
  }),
});
export type ViewSubmission = z.infer<typeof ViewSubmissionSchema>;

/** What our modal carries from the button to the submission (`private_metadata`, set by us when opening it). */
export const AnswerMetadataSchema = z.object({
  findingId: z.string().min(1).max(1900),
  answer: z.enum(['approve', 'reject']),
  /** Where the button was clicked: the ephemeral reply goes there. */
  channel: z.string().max(64).optional(),
});
export type AnswerMetadata = z.infer<typeof AnswerMetadataSchema>;

/** Reads the `payload` field of a form-encoded interaction body as JSON; undefined when it is not there or not JSON. */
export function interactionPayload(rawBody: Buffer): unknown {
  const payload = new URLSearchParams(rawBody.toString('utf8')).get('payload');
  if (payload === null) return undefined;
  try {
    return JSON.parse(payload) as unknown;
  } catch {
    return undefined;
  }
}
