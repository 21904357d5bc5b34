/**
 * The GitHub endpoint family of `driftplane serve`: `POST /github/webhook` (docs/github.md).
 */
import type { Client, Connection } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { connectTemporal } from '../../workers/connection';
import type { Config } from '../../workers/config';
import { pullRequestClosed } from '../../workflows/messages';
import type { ServeModule } from '../server';
import { githubWebhook, type SignalOutcome } from './webhook';

export { DeliveryGuard, DELIVERY_MEMORY_MS } from './delivery-guard';
export { githubSignature, GitHubSignatureError, verifyGitHubSignature } from './verify-signature';
export {
  GITHUB_WEBHOOK_BODY_LIMIT,
  GITHUB_WEBHOOK_PATH,
  githubWebhook,
  type GitHubWebhookDeps,
  type SignalOutcome,
} from './webhook';

/** GitHub waits 10 s for an answer; the signal must be sent, or given up on (503), before that. */
const SIGNAL_DEADLINE_MS = 7_000;

/**
 * The GitHub endpoint built from the configuration: GITHUB_WEBHOOK_SECRET, and a Temporal client
 * connected on first use (so the server starts, and refuses forged deliveries, while Temporal is
 * down; a failed connection is tried again at the next delivery).
 */
export function githubFromConfig(
  config: Config,
  opts: { log?: (line: string) => void; nowMs?: () => number } = {},
): { module: ServeModule; close(): Promise<void> } {
  let temporal: Promise<{ client: Client; connection: Connection }> | undefined;
  const client = async () => {
    temporal ??= connectTemporal(config.temporal).catch((err: unknown) => {
      temporal = undefined;
      throw err;
    });
    return (await temporal).client;
  };
  const module = githubWebhook({
    webhookSecret: config.github.webhookSecret,
    signal: async (workflowId, payload): Promise<SignalOutcome> => {
      const c = await client();
      try {
        await c.withDeadline(Date.now() + SIGNAL_DEADLINE_MS, () =>
          c.workflow.getHandle(workflowId).signal(pullRequestClosed, payload),
        );
        return 'signalled';
      } catch (err) {
        // No such workflow, or it has completed: GitHub must not be asked to redeliver.
        if (err instanceof WorkflowNotFoundError) return 'not-found';
        throw err;
      }
    },
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.nowMs ? { nowMs: opts.nowMs } : {}),
  });
  return {
    module,
    close: async () => {
      const t = await temporal?.catch(() => undefined);
      await t?.connection.close();
    },
  };
}
