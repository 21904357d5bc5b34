import { TestWorkflowEnvironment } from '@temporalio/testing';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import { startDriftplaneServer, type RunningServer } from '../../serve';
import { slackSignature } from '../../serve/slack/verify-signature';
import type { LifecycleState } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import type { Config } from '../../workers/config';
import { createDriftplaneWorker, type DriftplaneWorker } from '../../workers/create-worker';
import {
  awaitingApproval,
  quietTemporalLogs,
  testConfig,
  waitForState,
  workflowBundle,
} from '../support/lifecycle-harness';
import { sharedFixture } from '../support/shared-fixtures';
import { startSlackApiRecorder, type RecordedCall } from '../support/slack-api-recorder';

// Slack approvals end to end: the lifecycle on the real dev server, `driftplane serve` on loopback,
// and Slack's Web API replaced by a local recorder (SLACK_API_URL). Requests are signed the way
// Slack signs them, in the payload shapes Slack documents (block_actions from the java-slack-sdk's
// sample in ../shared/fixtures).
const SECRET = 'e2e-signing-secret-0123456789abcdef';
const UNIT = 'checkout-web-prod';
const PRIYA = 'U04PRIYA'; // priya.nair@acme.example, a checkout approver
const MARIA = 'U04MARIA'; // maria.lopez@acme.example, a checkout approver: the drift's actor in these tests

const blockActionsSample = JSON.parse(
  readFileSync(
    sharedFixture(
      'slack',
      'slackapi-java-slack-sdk__json-logs__samples__app-backend__interactive-components__BlockActionPayload.json',
    ),
    'utf8',
  ),
) as Record<string, unknown> & {
  actions: Record<string, unknown>[];
  container: Record<string, unknown>;
  channel: Record<string, unknown>;
  user: Record<string, unknown>;
};

let env: TestWorkflowEnvironment;
let config: Config;
let worker: { w: DriftplaneWorker; running: Promise<void> };
let server: RunningServer;
let slack: Awaited<ReturnType<typeof startSlackApiRecorder>>;

beforeAll(async () => {
  await quietTemporalLogs();
  slack = await startSlackApiRecorder();
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
  config = await testConfig(inject('temporalAddress'), {
    SLACK_BOT_TOKEN: 'xoxb-e2e-token',
    SLACK_API_URL: slack.url,
    SLACK_SIGNING_SECRET: SECRET,
    // Short enough to see an escalation while Slack is failing; the approval test answers within seconds.
    DRIFTPLANE_APPROVAL_TIMEOUT: '15s',
  });
  // No notifier passed: with SLACK_BOT_TOKEN set the worker picks the Slack notifier itself.
  const w = await createDriftplaneWorker(config, {
    source: { workflowBundle: await workflowBundle() },
    connection: env.nativeConnection,
  });
  worker = { w, running: w.worker.run() };
  server = await startDriftplaneServer(config, { host: '127.0.0.1', port: 0 });
});

afterEach(async () => {
  for await (const r of env.client.workflow.list({
    query: `TaskQueue = '${config.taskQueue}' AND ExecutionStatus = 'Running'`,
  })) {
    await env.client.workflow
      .getHandle(r.workflowId, r.runId)
      .terminate('test cleanup')
      .catch(() => undefined);
  }
});

afterAll(async () => {
  await server?.close();
  worker?.w.worker.shutdown();
  await worker?.running;
  await worker?.w.close();
  await env?.teardown();
  await slack?.close();
});

/** Opens a lifecycle on checkout-web-prod whose drift was made by `actor`, waiting for approval. */
async function open(actor: string) {
  await seedDemoSandbox(config.planesDir, new Date());
  const file = path.join(config.planesDir, UNIT, 'audit.jsonl');
  const lines = (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as object);
  await writeFile(
    file,
    lines.map((l) => JSON.stringify({ ...l, actor: { id: actor, type: 'human' } })).join('\n') + '\n',
  );
  const r = (await env.client.workflow.execute('unitScan', {
    workflowId: `scan:${UNIT}:${Date.now()}:${Math.random()}`,
    taskQueue: config.taskQueue,
    args: [{ unit: UNIT }],
  })) as UnitScanResult;
  if (r.status !== 'drift') throw new Error(`expected drift, got ${JSON.stringify(r)}`);
  const f = r.findings[0]!;
  const s = await waitForState(env.client, f.workflowId, awaitingApproval);
  return { ...f, state: s };
}

const historyLength = async (workflowId: string) =>
  (await env.client.workflow.getHandle(workflowId).describe()).historyLength;

/** Waits until the recorder has a call matching `pred`, and returns it. */
async function call(pred: (c: RecordedCall) => boolean, timeoutMs = 20_000): Promise<RecordedCall> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = slack.calls.find(pred);
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(`no matching Slack call; got ${slack.calls.map((c) => c.method).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const callsAfter = (n: number) => slack.calls.slice(n);
const forFinding = (findingId: string) => (c: RecordedCall) => JSON.stringify(c.args).includes(findingId);

/** POSTs a form body to the endpoint, signed as Slack signs (or with the headers given). */
async function post(body: string, opts: { timestamp?: number; signature?: string } = {}) {
  const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const r = await fetch(`${server.url}/slack/interactivity`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': opts.signature ?? slackSignature(SECRET, ts, body),
    },
    body,
  });
  return { status: r.status, text: await r.text() };
}
const form = (payload: unknown) => `payload=${encodeURIComponent(JSON.stringify(payload))}`;

/** A `block_actions` payload in Slack's shape (the SDK sample, filled in): `user` clicked `actionId` with `value`. */
function buttonClick(user: string, actionId: string, value: string, channel: string, messageTs: string) {
  return {
    ...blockActionsSample,
    user: { ...blockActionsSample.user, id: user, username: 'someone', name: 'someone', team_id: 'T0ACME' },
    team: { id: 'T0ACME', domain: 'acme' },
    trigger_id: `${Date.now()}.98765.${Math.random().toString(16).slice(2)}`,
    container: {
      ...blockActionsSample.container,
      type: 'message',
      message_ts: messageTs,
      channel_id: channel,
      is_ephemeral: false,
    },
    channel: { id: channel, name: 'team-checkout' },
    response_url: 'https://hooks.slack.com/actions/T0ACME/1/abc',
    actions: [
      {
        ...blockActionsSample.actions[0],
        action_id: actionId,
        block_id: 'driftplane_answer',
        value,
        type: 'button',
        style: 'primary',
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

/** A `view_submission` payload in Slack's documented shape for the modal `views.open` opened. */
function submission(user: string, view: Record<string, unknown>, reason: string) {
  return {
    type: 'view_submission',
    team: { id: 'T0ACME', domain: 'acme' },
    user: { id: user, username: 'someone', name: 'someone', team_id: 'T0ACME' },
    api_app_id: 'A0DRIFT',
    token: 'legacy-verification-token',
    trigger_id: `${Date.now()}.12345.abcdef`,
    view: {
      ...view,
      id: 'V0000000001',
      team_id: 'T0ACME',
      state: { values: { reason: { reason: { type: 'plain_text_input', value: reason } } } },
      hash: '1700000000.abcdef',
      previous_view_id: null,
      root_view_id: 'V0000000001',
      app_id: 'A0DRIFT',
      bot_id: 'B0DRIFT',
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

describe('Slack approvals through driftplane serve', () => {
  it('GET /healthz answers', async () => {
    const r = await fetch(`${server.url}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ok' });
  });

  it('posts the finding, refuses forged, stale, replayed, unknown and self-approving requests without a trace, then approves from a modal and reaches RECONCILED', async () => {
    const f = await open('maria.lopez@acme.example');
    expect(f.state.route?.notify).toContain('slack:#team-checkout');

    // chat.postMessage: Slack's documented arguments channel, text and blocks (the finding, its rules, the buttons).
    const posted = await call((c) => c.method === 'chat.postMessage' && forFinding(f.findingId)(c));
    expect(posted.bearer).toBe(true);
    expect(posted.args.channel).toBe('#team-checkout');
    expect(posted.args.text).toEqual(expect.stringContaining('UNAUTHORIZED_RUNTIME_DRIFT'));
    const blocks = JSON.stringify(posted.args.blocks);
    for (const shown of [
      f.findingId,
      'HIGH',
      'Deployment',
      '/spec/template/spec/containers/0/image',
      'maria.lopez@acme.example',
      'Rules that fired',
    ])
      expect(blocks).toContain(shown);
    for (const r of f.state.decision!.reasons) expect(blocks).toContain(r.ruleId);
    const channelId = slack.channelIds.get('#team-checkout')!;

    const h0 = await historyLength(f.workflowId);
    const approveValue = `approve:${f.findingId}`;
    const click = (user: string) =>
      form(buttonClick(user, 'driftplane_approve', approveValue, channelId, '1700000000.000001'));
    // The incident raised at routing updates the message once; after that, Slack hears nothing until someone acts.
    await call(
      (c) => c.method === 'chat.update' && JSON.stringify(c.args.blocks).includes('incident opened'),
    );
    const n0 = slack.calls.length;

    // Forged, stale (301 s either way) and replayed requests: 401, nothing done.
    const body = click(PRIYA);
    const now = Math.floor(Date.now() / 1000);
    expect(
      (await post(body, { signature: slackSignature('not-the-secret', String(now), body) })).status,
    ).toBe(401);
    expect(
      (
        await post(body.replace('approve%3A', 'reject%3A'), {
          timestamp: now,
          signature: slackSignature(SECRET, String(now), body),
        })
      ).status,
    ).toBe(401);
    // 301 s and more (a second may tick between here and the server's clock: 303 keeps the test exact).
    expect((await post(body, { timestamp: now - 301 })).status).toBe(401);
    expect((await post(body, { timestamp: now + 303 })).status).toBe(401);
    const ignored = form(buttonClick(PRIYA, 'some_other_action', 'x', channelId, '1'));
    const sig = slackSignature(SECRET, String(now), ignored);
    expect((await post(ignored, { timestamp: now, signature: sig })).status).toBe(200);
    expect((await post(ignored, { timestamp: now, signature: sig })).status).toBe(401); // the replay
    await new Promise((r) => setTimeout(r, 500));
    expect(callsAfter(n0)).toEqual([]);
    expect(await historyLength(f.workflowId)).toBe(h0);

    // An unknown Slack user: an ephemeral error, no modal, nothing sent to the lifecycle.
    expect((await post(click('U0NOBODY'))).status).toBe(200);
    const unknown = await call((c) => c.method === 'chat.postEphemeral' && c.args.user === 'U0NOBODY');
    expect(unknown.args).toMatchObject({
      channel: channelId,
      text: expect.stringContaining('does not know Slack user U0NOBODY'),
    });
    expect(
      slack.calls.some(
        (c) => c.method === 'views.open' && c.at >= unknown.at - 5000 && c.args.trigger_id === undefined,
      ),
    ).toBe(false);

    // The drift's own actor: the modal opens, the Update's validator refuses, an ephemeral error says why.
    const nMaria = slack.calls.length;
    expect((await post(click(MARIA))).status).toBe(200);
    const mariaModal = await call((c) => c.method === 'views.open' && slack.calls.indexOf(c) >= nMaria);
    expect(mariaModal.args.trigger_id).toEqual(expect.any(String));
    expect(
      (
        await post(
          form(submission(MARIA, mariaModal.args.view as Record<string, unknown>, 'it was me, it is fine')),
        )
      ).status,
    ).toBe(200);
    const refused = await call((c) => c.method === 'chat.postEphemeral' && c.args.user === MARIA, 40_000);
    expect(refused.args.text).toMatch(/^Refused: .*caused this drift and cannot approve its reconciliation/);
    expect(await historyLength(f.workflowId)).toBe(h0);

    // A listed approver: button → views.open (trigger_id, view with the reason input) → submission → approved.
    const nPriya = slack.calls.length;
    expect((await post(click(PRIYA))).status).toBe(200);
    const modal = await call((c) => c.method === 'views.open' && slack.calls.indexOf(c) >= nPriya);
    const view = modal.args.view as {
      type: string;
      callback_id: string;
      private_metadata: string;
      blocks: { type: string; block_id?: string; optional?: boolean }[];
    };
    expect(view.type).toBe('modal');
    expect(JSON.parse(view.private_metadata)).toEqual({
      findingId: f.findingId,
      answer: 'approve',
      channel: channelId,
    });
    expect(view.blocks.find((b) => b.type === 'input')).toMatchObject({
      block_id: 'reason',
      optional: false,
    });
    // An empty reason is refused in the modal itself (Slack keeps it open and shows the error).
    const empty = await post(form(submission(PRIYA, view, '   ')));
    expect(empty.status).toBe(200);
    expect(JSON.parse(empty.text)).toEqual({
      response_action: 'errors',
      errors: { reason: 'A reason is required.' },
    });
    expect(await historyLength(f.workflowId)).toBe(h0);

    const ok = await post(
      form(submission(PRIYA, view, 'Unapproved image tag in prod: revert to the digest in Git')),
    );
    expect(ok).toEqual({ status: 200, text: '' });
    const done = (await env.client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
    expect(done.outcome).toBe('RECONCILED');
    expect(done.answer).toMatchObject({
      answer: 'approved',
      approver: 'priya.nair@acme.example',
      via: 'slack',
      reason: 'Unapproved image tag in prod: revert to the digest in Git',
    });
    // Proven, not typed: the answer carries a statement signed with the server's key, for the slack channel.
    expect(done.answer?.authenticated).toBe(true);
    expect(done.answer?.statement?.statement).toMatchObject({
      findingId: f.findingId,
      answer: 'approved',
      approver: 'priya.nair@acme.example',
      channel: 'slack',
    });
    expect(done.answer?.statement?.signer.kind).toBe('ed25519');
    const thanks = await call((c) => c.method === 'chat.postEphemeral' && c.args.user === PRIYA);
    expect(thanks.args.text).toMatch(/approval of .* was recorded as priya\.nair@acme\.example/);

    // chat.update: the same message (channel id and ts from chat.postMessage's answer), buttons gone, closure shown.
    const closed = await call(
      (c) => c.method === 'chat.update' && JSON.stringify(c.args.blocks).includes('closed: RECONCILED'),
      30_000,
    );
    expect(closed.args).toMatchObject({
      channel: channelId,
      ts: expect.stringMatching(/^1700000000\.\d{6}$/),
    });
    const updates = slack.calls.filter((c) => c.method === 'chat.update' && forFinding(f.findingId)(c));
    expect(
      updates.some((c) =>
        JSON.stringify(c.args.blocks).includes('approved by priya.nair@acme.example via slack'),
      ),
    ).toBe(true);
    for (const u of updates) expect(u.args.ts).toBe(closed.args.ts);
    expect((closed.args.blocks as { type: string }[]).some((b) => b.type === 'actions')).toBe(false);
  });

  it('keeps retrying a failing Slack (channel_not_found, then ratelimited with Retry-After) while the lifecycle escalates on its own clock', async () => {
    slack.failNext(
      'chat.postMessage',
      { body: { ok: false, error: 'channel_not_found' } },
      { status: 429, headers: { 'retry-after': '2' }, body: { ok: false, error: 'ratelimited' } },
      { status: 429, headers: { 'retry-after': '25' }, body: { ok: false, error: 'ratelimited' } },
    );
    const n = slack.calls.length;
    const posts = () => slack.calls.filter((c, i) => i >= n && c.method === 'chat.postMessage');
    const f = await open('dave.kim@acme.example');
    // The route step did not wait for Slack: the lifecycle waits for approval, and escalates on its
    // clock (DRIFTPLANE_APPROVAL_TIMEOUT 15s here) while Slack still refuses every post.
    const escalated = await waitForState(env.client, f.workflowId, (s) => s.escalations >= 1, 40_000);
    expect(escalated.stage).toBe('approve');
    const [first, second, third, ...rest] = posts();
    expect([first, second, third].every(Boolean)).toBe(true);
    expect(rest).toEqual([]); // the third answered 429 with Retry-After: 25; the fourth attempt waits for it
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1500); // backoff (initial interval 2 s)
    expect(third!.at - second!.at).toBeGreaterThanOrEqual(1900); // Retry-After: 2
    // Slack recovers: the message is posted (after Retry-After: 25) and then shows the escalation.
    const fourth = await call((c) => c.method === 'chat.postMessage' && posts().indexOf(c) === 3, 60_000);
    expect(fourth.at - third!.at).toBeGreaterThanOrEqual(24_000);
    const channel = slack.channelIds.get('#team-checkout');
    await call(
      (c) =>
        c.method === 'chat.update' &&
        c.args.channel === channel &&
        JSON.stringify(c.args.blocks).includes('escalation level 1') &&
        forFinding(f.findingId)(c),
      30_000,
    );
    const thread = await env.client.workflow
      .getHandle(`slack:${f.findingId}`)
      .query<{ messages: { channel: string; ts: string }[] }>('slackThreadState');
    expect(thread.messages).toEqual([{ channel, ts: expect.any(String) }]);
  }, 120_000);
});
