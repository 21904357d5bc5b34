import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack refuses requests whose timestamp is more than five minutes from now, either way; so do we. */
export const SLACK_MAX_SKEW_SECONDS = 300;

/** Why a request's signature was refused. Never carries the secret or the expected signature. */
export type SignatureRefusal =
  | 'missing-headers'
  | 'bad-timestamp'
  | 'stale-timestamp'
  | 'bad-signature'
  | 'replayed'
  | 'replay-store-full';

/** A request that did not prove it came from Slack (answered 401, nothing else done). */
export class SlackSignatureError extends Error {
  override readonly name = 'SlackSignatureError';
  constructor(readonly refusal: SignatureRefusal) {
    super(`Slack request refused: ${refusal}`);
  }
}

/** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the signing secret, as Slack documents it. */
export function slackSignature(signingSecret: string, timestamp: string, rawBody: Buffer | string): string {
  const mac = createHmac('sha256', signingSecret);
  mac.update(`v0:${timestamp}:`);
  mac.update(rawBody);
  return `v0=${mac.digest('hex')}`;
}

/**
 * Checks `X-Slack-Signature` and `X-Slack-Request-Timestamp` of a request against its raw body
 * (https://docs.slack.dev/authentication/verifying-requests-from-slack/): the timestamp must be
 * within {@link SLACK_MAX_SKEW_SECONDS} of `nowSeconds`, and the signature must equal ours, compared
 * in constant time. Throws SlackSignatureError; returns nothing on success.
 */
export function verifySlackSignature(input: {
  signingSecret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer;
  nowSeconds: number;
}): void {
  const { timestamp, signature } = input;
  if (!timestamp || !signature) throw new SlackSignatureError('missing-headers');
  if (!/^\d{1,12}$/.test(timestamp)) throw new SlackSignatureError('bad-timestamp');
  if (Math.abs(input.nowSeconds - Number(timestamp)) > SLACK_MAX_SKEW_SECONDS)
    throw new SlackSignatureError('stale-timestamp');
  const expected = Buffer.from(slackSignature(input.signingSecret, timestamp, input.rawBody), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  // timingSafeEqual needs equal lengths; a length difference says nothing about the secret.
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new SlackSignatureError('bad-signature');
}

/**
 * Remembers the valid requests of the last replay window (signature + timestamp), so one seen
 * before is refused. Bounded: entries leave once their timestamp is outside the window (they would
 * be refused as stale anyway), and when `maxEntries` valid requests are in the window the next one
 * is refused rather than an older one forgotten (fail closed).
 *
 * In memory, per process: several `driftplane serve` replicas behind one URL would each keep their
 * own set, so a replay sent to another replica would pass. Such a deployment needs a shared store
 * (PostgreSQL, with a unique key on the signature and the same expiry).
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  constructor(private readonly maxEntries = 10_000) {}

  /** Records a verified request; throws SlackSignatureError('replayed') when it was seen before. */
  admit(timestamp: string, signature: string, nowSeconds: number): void {
    for (const [key, ts] of this.seen) {
      if (nowSeconds - ts > SLACK_MAX_SKEW_SECONDS) this.seen.delete(key);
    }
    const key = `${timestamp}:${signature}`;
    if (this.seen.has(key)) throw new SlackSignatureError('replayed');
    if (this.seen.size >= this.maxEntries) throw new SlackSignatureError('replay-store-full');
    this.seen.set(key, Number(timestamp));
  }

  get size(): number {
    return this.seen.size;
  }
}
