import { TestWorkflowEnvironment } from '@temporalio/testing';
import { execFile, spawn } from 'node:child_process';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConsoleNotifier } from '../../activities/notify/console-notifier';
import { answerUpdateId } from '../../cli/answer-finding';
import { QUEUED_MESSAGE } from '../../cli/answer-queued';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import { ExitCode } from '../../cli/exit-codes';
import { approvalSignal, state, type LifecycleState } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import type { Config } from '../../workers/config';
import { createDriftplaneWorker, type DriftplaneWorker } from '../../workers/create-worker';
import { awaitingApproval, quietTemporalLogs, testConfig, waitForState, workflowBundle } from '../support/lifecycle-harness';
import { repoRoot } from '../support/shared-fixtures';
import { signedAnswer, sshKeyOf } from '../support/approver-keys';

const APPROVER = 'maria.lopez@acme.example';
const bin = path.join(repoRoot, 'bin', 'driftplane.cjs');
const run = promisify(execFile);

let env: TestWorkflowEnvironment;
let config: Config;
let cliEnv: NodeJS.ProcessEnv;
let worker: { w: DriftplaneWorker; running: Promise<void> } | undefined;

/** Runs the real `driftplane` binary; resolves with its exit code instead of throwing. */
async function driftplane(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: cliEnv, cwd: repoRoot, timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function startWorker(): Promise<void> {
  const w = await createDriftplaneWorker(config, {
    source: { workflowBundle: await workflowBundle() },
    connection: env.nativeConnection,
    notifier: new ConsoleNotifier(undefined),
  });
  worker = { w, running: w.worker.run() };
}

async function stopWorker(): Promise<void> {
  if (!worker) return;
  worker.w.worker.shutdown();
  await worker.running;
  await worker.w.close();
  worker = undefined;
}

async function scan(unit: string) {
  const r = (await env.client.workflow.execute('unitScan', {
    workflowId: `scan:${unit}:${Date.now()}`,
    taskQueue: config.taskQueue,
    args: [{ unit }],
  })) as UnitScanResult;
  if (r.status !== 'drift') throw new Error(`expected drift, got ${JSON.stringify(r)}`);
  return r.findings[0]!;
}

/** ESC, BEL, the 8-bit CSI or a right-to-left override: what a terminal would obey or reorder. */
const raw = (text: string) => ['\u001b', '\u0007', '\u009b', '\u202e'].some((c) => text.includes(c));

beforeAll(async () => {
  await quietTemporalLogs();
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
  config = await testConfig(inject('temporalAddress'));
  cliEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: config.temporalAddress,
    DRIFTPLANE_HOME: config.home,
    DRIFTPLANE_TASK_QUEUE: config.taskQueue,
    DRIFTPLANE_REGISTRY: config.registryDir,
  };
});

afterAll(async () => {
  await stopWorker();
  for await (const r of env.client.workflow.list({ query: `TaskQueue = '${config.taskQueue}' AND ExecutionStatus = 'Running'` })) {
    await env.client.workflow.getHandle(r.workflowId, r.runId).terminate('test cleanup').catch(() => undefined);
  }
  await env?.teardown();
});

describe('driftplane approve with no worker running', () => {
  it('says the answer is queued (exit 4, not "failed"), and a worker that starts later applies it', async () => {
    await seedDemoSandbox(config.planesDir, new Date());
    await startWorker();
    const f = await scan('checkout-web-prod');
    await waitForState(env.client, f.workflowId, awaitingApproval);
    await stopWorker();

    const reason = 'revert to the digest in Git (answered while no worker runs)';
    // Signed with Maria's SSH key (registered in the test registry), as a production unit requires.
    const key = (await sshKeyOf(APPROVER))!;
    const queued = await driftplane('approve', f.findingId, '--as', APPROVER, '--reason', reason, '--key', key, '--wait', '3s');
    expect(queued.stderr).toBe('');
    expect(queued.stdout).toBe(`${QUEUED_MESSAGE}\n`);
    expect(QUEUED_MESSAGE).toBe('queued, not yet validated: a worker will validate it when it runs; `driftplane show` tells');
    expect(queued.code).toBe(ExitCode.queued);
    expect(ExitCode.queued).not.toBe(ExitCode.failed);

    // A retry joins the same Update (same id) instead of queueing a second answer.
    const retried = await driftplane('approve', f.findingId, '--as', APPROVER, '--reason', reason, '--key', key, '--wait', '2s', '--json');
    expect(retried.code).toBe(ExitCode.queued);
    const body = JSON.parse(retried.stdout) as { status: string; findingId: string; updateId: string };
    expect(body).toMatchObject({ status: 'queued', findingId: f.findingId });
    expect(body.updateId).toBe(answerUpdateId(f.findingId, 'approve', { approver: APPROVER, reason, via: 'cli' }));

    // The worker comes back: the queued answer is validated, accepted, and the revert runs.
    await startWorker();
    const handle = env.client.workflow.getHandle(f.workflowId);
    const closed = (await handle.result()) as LifecycleState;
    expect(closed.outcome).toBe('RECONCILED');
    expect(closed.answer).toMatchObject({ answer: 'approved', approver: APPROVER, reason, via: 'cli' });
    const accepted = ((await handle.fetchHistory()).events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(accepted.map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId)).toEqual([body.updateId]);

    const shown = await driftplane('show', f.findingId);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`answer      approved by ${APPROVER} (cli): ${reason}`);
  });
});

describe('text from outside reaches the terminal made visible', () => {
  it('`show`, a refused `approve` and `evidence show` print escape sequences and bidi overrides escaped; --json stays exact', async () => {
    if (!worker) await startWorker();
    // The audit log names an "actor" whose id clears the screen, sets the window title and reverses text.
    const actor = 'dave\u001b]0;APPROVED\u0007\u001b[2J\u202ekim@acme.example';
    await seedDemoSandbox(config.planesDir, new Date());
    await appendFile(
      path.join(config.planesDir, 'checkout-web-prod', 'audit.jsonl'),
      `${JSON.stringify({ resourceRef: 'Deployment/checkout/web', actor: { id: actor, type: 'human' }, eventTime: new Date().toISOString(), eventName: 'kubectl set image', source: 'k8s-audit' })}\n`,
    );
    const f = await scan('checkout-web-prod');
    await waitForState(env.client, f.workflowId, awaitingApproval);

    // A refused answer: the validator's message echoes the identity given with --as.
    const evil = '\u001b[2Jevil\u202e\u009b31m';
    const refused = await driftplane('approve', f.findingId, '--as', evil, '--reason', 'looks fine', '--key', (await sshKeyOf(APPROVER))!, '--wait', '60s');
    expect(refused.code).toBe(ExitCode.invalidInput);
    expect(refused.stderr).toMatch(/refused/);
    expect(refused.stderr).toContain('\\x1b[2Jevil\\u202e\\x9b31m');
    expect(raw(refused.stderr)).toBe(false);

    // An approval whose reason carries a screen clear, an OSC title and a fake green "APPROVED BY CISO".
    const reason = 'ok\u001b[2J\u001b]0;title\u0007\u001b[32mAPPROVED BY CISO\u001b[0m\u202e';
    await env.client.workflow.getHandle(f.workflowId).signal(approvalSignal, await signedAnswer(f.findingId, 'approved', { approver: APPROVER, reason }));
    // The lifecycle records the approval (or, if it refuses such a reason, counts the signal as ignored).
    const settled = (s: LifecycleState) => s.answer !== undefined || s.timeline.some((t) => t.event === 'approved' || t.event.startsWith('ignored'));
    await waitForState(env.client, f.workflowId, settled);

    const shown = await driftplane('show', f.findingId);
    expect(shown.code).toBe(0);
    expect(raw(shown.stdout)).toBe(false);
    expect(shown.stdout).toContain('actor       dave\\x1b]0;APPROVED\\x07\\x1b[2J\\u202ekim@acme.example (human)');
    const s = await env.client.workflow.getHandle(f.workflowId).query(state);
    if (s.timeline.some((t) => t.event === 'approved')) expect(shown.stdout).toContain('\\x1b[2J\\x1b]0;title\\x07\\x1b[32mAPPROVED BY CISO\\x1b[0m\\u202e');

    // JSON keeps the values exact (a terminal-safe escape is still the same JSON string).
    const json = await driftplane('show', f.findingId, '--json');
    expect(json.code).toBe(0);
    expect(raw(json.stdout)).toBe(false);
    const parsed = JSON.parse(json.stdout) as LifecycleState;
    expect(parsed.observation.auditCorrelation?.actor.id).toBe(s.observation.auditCorrelation?.actor.id);
    expect(parsed.answer).toEqual(s.answer);

    // Evidence is files on disk; `evidence show` escapes what it prints, and a reader that stops early ends it quietly.
    const evidence = await driftplane('evidence', 'show', f.findingId);
    expect(evidence.code).toBe(0);
    expect(raw(evidence.stdout)).toBe(false);
    const piped = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, 'evidence', 'show', f.findingId, '--json'], { env: cliEnv, cwd: repoRoot });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('close', (code) => resolve({ code, stderr }));
    });
    expect(piped).toEqual({ code: 0, stderr: '' });
  });
});
