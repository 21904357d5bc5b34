/**
 * What the server channels that take answers (Slack, the dashboard) share: the registry's people,
 * re-read at most every 30 s (people join teams while the server runs), and the Temporal client
 * an answer is sent through, connected on first use (so the server starts, and refuses forged
 * requests, while Temporal is down) and again after a failed connect.
 */
import type { Client, Connection } from '@temporalio/client';
import { answerFinding } from '../cli/answer-finding';
import { connectTemporal } from '../workers/connection';
import type { AnswerAccepted } from '../workflows/messages';
import { loadRegistry, peopleOf } from '../registry';
import type { Config } from '../workers/config';
import { noteApprovalProgress } from './slack/approval-progress';

/** How long a channel waits for a worker to validate an answer before replying "queued". */
export const ANSWER_WAIT_MS = 30_000;
/** The registry is read again at most this often. */
const REGISTRY_TTL_MS = 30_000;

/** A registry person's e-mail by the identity a channel proved (a Slack user id, a signed-in e-mail). */
export interface RegistryPeople {
  bySlackId(slackUserId: string): Promise<string | undefined>;
  byEmail(email: string): Promise<string | undefined>;
}

/** The registry's people at `registryDir`, cached for 30 s; an invalid registry is an error, never "nobody". */
export function registryPeople(registryDir: string): RegistryPeople {
  let cache: { at: number; bySlackId: Map<string, string>; byEmail: Map<string, string> } | undefined;
  const load = async () => {
    if (!cache || Date.now() - cache.at > REGISTRY_TTL_MS) {
      const loaded = await loadRegistry(registryDir);
      if (!loaded.ok) throw new Error(`registry at ${registryDir} is invalid (${loaded.errors.length} problem(s))`);
      const people = peopleOf(loaded.registry);
      cache = {
        at: Date.now(),
        bySlackId: new Map(people.filter((p) => p.slackUserId).map((p) => [p.slackUserId as string, p.email])),
        byEmail: new Map(people.map((p) => [p.email.toLowerCase(), p.email])),
      };
    }
    return cache;
  };
  return {
    bySlackId: async (id) => (await load()).bySlackId.get(id),
    byEmail: async (email) => (await load()).byEmail.get(email.toLowerCase()),
  };
}

/** Sends a channel's answers to lifecycles; `close()` closes the connection it opened. */
export interface ChannelAnswers {
  send(findingId: string, answer: 'approve' | 'reject', input: Parameters<typeof answerFinding>[3]): Promise<AnswerAccepted>;
  close(): Promise<void>;
}

/** Answers through a lazily connected Temporal client; a counted approval short of the quorum is noted on the finding's Slack message. */
export function channelAnswers(config: Config, channel: 'slack' | 'dashboard'): ChannelAnswers {
  let temporal: Promise<{ client: Client; connection: Connection }> | undefined;
  const client = async () => {
    temporal ??= connectTemporal(config.temporal).catch((err: unknown) => {
      temporal = undefined; // try again at the next answer
      throw err;
    });
    return (await temporal).client;
  };
  return {
    async send(findingId, answer, input) {
      const c = await client();
      const accepted = await answerFinding(c, findingId, answer, input, ANSWER_WAIT_MS);
      // A counted approval that does not complete the quorum: the message shows "1 of 2 approvals".
      await noteApprovalProgress(c, accepted, channel).catch(() => undefined);
      return accepted;
    },
    async close() {
      const t = await temporal?.catch(() => undefined);
      await t?.connection.close();
    },
  };
}
