/**
 * Records histories of real lifecycle runs into test/fixtures/histories/, for the replay tests.
 * Run after any intended change to workflow code: `npm run record-histories`. It starts its own
 * Temporal dev server and worker, drives each scenario, and exports each history with
 * `temporal workflow show --output json` (the format the replayer reads).
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConsoleNotifier } from '../activities/notify/console-notifier';
import { answerFinding, signedAnswer } from '../test/support/approver-keys';
import { seedDemoSandbox } from '../cli/demo-sandbox';
import { locateTemporalCli } from '../cli/local-tools';
import { approvalSignal, detected, pullRequestClosed, type LifecycleState } from '../workflows/messages';
import { closePr, mergePr } from '../activities/git-local';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';
import { devServerConfigArgs } from '../workers/server-limits';
import type { UnitScanResult } from '../workflows/unit-scan';
import { createDriftplaneWorker } from '../workers/create-worker';
import { awaitingApproval, testConfig, waitForState, workflowBundle } from '../test/support/lifecycle-helpers';
import { registryWithBoundaries, STAGING_BOUNDARY } from '../test/support/boundary-registry';
import { recordHotfixHistories } from './record-hotfix-histories';

const outDir = path.resolve(__dirname, '..', 'test', 'fixtures', 'histories');

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const cli = locateTemporalCli();
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: cli }, searchAttributes: SEARCH_ATTRIBUTE_KEYS, extraArgs: devServerConfigArgs() } });
  const config = await testConfig(env.address, { DRIFTPLANE_APPROVAL_TIMEOUT: '2s', DRIFTPLANE_MAX_ESCALATIONS: '1' });
  const w = await createDriftplaneWorker(config, { source: { workflowBundle: await workflowBundle() }, connection: env.nativeConnection, notifier: new ConsoleNotifier(undefined) });
  mkdirSync(outDir, { recursive: true });

  const save = (name: string, workflowId: string, runId: string) => {
    const json = execFileSync(cli, ['workflow', 'show', '--address', env.address, '--workflow-id', workflowId, '--run-id', runId, '--output', 'json'], { encoding: 'utf8', maxBuffer: 1 << 30 });
    writeFileSync(path.join(outDir, `${name}.json`), json);
    process.stderr.write(`recorded ${name} (${workflowId})\n`);
  };
  const scan = async (unit: string) => {
    await seedDemoSandbox(config.planesDir, new Date());
    const workflowId = `scan:${unit}:${Date.now()}`;
    const handle = await env.client.workflow.start('unitScan', { workflowId, taskQueue: config.taskQueue, args: [{ unit }] });
    const r = (await handle.result()) as UnitScanResult;
    if (r.status !== 'drift') throw new Error(`no drift in ${unit}`);
    return { scanId: workflowId, scanRunId: handle.firstExecutionRunId, ...r.findings[0]! };
  };
  const finish = async (workflowId: string) => (await env.client.workflow.getHandle(workflowId).result()) as LifecycleState;

  await w.worker.runUntil(async () => {
    const approved = await scan('checkout-web-prod');
    save('unit-scan-drift', approved.scanId, approved.scanRunId);
    await waitForState(env.client, approved.workflowId, awaitingApproval);
    await answerFinding(env.client, approved.findingId, 'approve', { approver: 'maria.lopez@acme.example', reason: 'revert to Git' });
    await finish(approved.workflowId);
    save('lifecycle-approved-revert', approved.workflowId, approved.runId);

    const rejected = await scan('checkout-web-prod');
    await waitForState(env.client, rejected.workflowId, awaitingApproval);
    await answerFinding(env.client, rejected.findingId, 'reject', { approver: 'maria.lopez@acme.example', reason: 'accepted; PR follows' });
    await finish(rejected.workflowId);
    save('lifecycle-rejected', rejected.workflowId, rejected.runId);

    const signalled = await scan('checkout-web-prod');
    await waitForState(env.client, signalled.workflowId, awaitingApproval);
    const h = env.client.workflow.getHandle(signalled.workflowId);
    await h.signal(approvalSignal, { approver: 'dave.kim@acme.example', reason: 'not mine to give' });
    // Unsigned on a prod unit: counted and ignored; the signed one counts.
    await h.signal(approvalSignal, { approver: 'maria.lopez@acme.example', reason: 'approved in the Temporal UI' });
    await h.signal(approvalSignal, await signedAnswer(signalled.findingId, 'approved', { approver: 'maria.lopez@acme.example', reason: 'approved, signed' }));
    await finish(signalled.workflowId);
    save('lifecycle-signal-approval', signalled.workflowId, signalled.runId);

    const expired = await scan('checkout-web-prod');
    await finish(expired.workflowId);
    save('lifecycle-expired', expired.workflowId, expired.runId);

    const healed = await scan('catalog-web-staging');
    await finish(healed.workflowId);
    save('lifecycle-auto-heal', healed.workflowId, healed.runId);

    // A failed detection (an OIDC role with no token file configured): the scan opens a DETECTION_STALE lifecycle.
    const failedId = `scan:payments-prod-network:${Date.now()}`;
    const failedScan = await env.client.workflow.start('unitScan', { workflowId: failedId, taskQueue: config.taskQueue, args: [{ unit: 'payments-prod-network' }] });
    const failed = (await failedScan.result()) as UnitScanResult;
    if (failed.status !== 'failed' || !failed.findings?.[0]) throw new Error(`expected a failed detection, got ${JSON.stringify(failed)}`);
    save('unit-scan-detection-failed', failedId, failedScan.firstExecutionRunId);
    const stale = failed.findings[0];
    await waitForState(env.client, stale.workflowId, awaitingApproval);
    await answerFinding(env.client, stale.findingId, 'approve', { approver: 'noah.fischer@acme.example', reason: 'detector is being fixed' });
    await finish(stale.workflowId);
    save('lifecycle-detection-stale', stale.workflowId, stale.runId);

    // The staleness sweep: a unit never detected is overdue.
    const sweepId = `sweep:${Date.now()}`;
    const sweep = await env.client.workflow.start('stalenessSweep', { workflowId: sweepId, taskQueue: config.taskQueue, args: [{ units: ['checkout-web-prod', 'payments-db-prod'] }] });
    await sweep.result();
    save('staleness-sweep', sweepId, sweep.firstExecutionRunId);
  });
  await w.close();

  // Long waits: a quorum of two, and a lifecycle that continues as new after thousands of detections.
  const patient = await testConfig(env.address, { DRIFTPLANE_APPROVAL_TIMEOUT: '1h' });
  const w2 = await createDriftplaneWorker(patient, { source: { workflowBundle: await workflowBundle() }, connection: env.nativeConnection, notifier: new ConsoleNotifier(undefined) });
  const scanAs = async (actor: { id: string; type: 'human' }) => {
    await seedDemoSandbox(patient.planesDir, new Date());
    const audit = path.join(patient.planesDir, 'checkout-web-prod', 'audit.jsonl');
    const lines = readFileSync(audit, 'utf8').trim().split('\n').map((l) => ({ ...(JSON.parse(l) as object), actor }));
    writeFileSync(audit, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const workflowId = `scan:checkout-web-prod:${Date.now()}`;
    const r = (await env.client.workflow.execute('unitScan', { workflowId, taskQueue: patient.taskQueue, args: [{ unit: 'checkout-web-prod' }] })) as UnitScanResult;
    if (r.status !== 'drift') throw new Error('no drift in checkout-web-prod');
    await waitForState(env.client, r.findings[0]!.workflowId, awaitingApproval);
    return r.findings[0]!;
  };
  await w2.worker.runUntil(async () => {
    // A human actor the registry does not know: two distinct approvers are needed.
    const quorum = await scanAs({ id: 'jdoe@contractor.example', type: 'human' });
    await answerFinding(env.client, quorum.findingId, 'approve', { approver: 'maria.lopez@acme.example', reason: 'revert to Git' });
    await answerFinding(env.client, quorum.findingId, 'approve', { approver: 'priya.nair@acme.example', reason: 'agreed' });
    await finish(quorum.workflowId);
    save('lifecycle-quorum-unresolved-actor', quorum.workflowId, quorum.runId);

    // Thousands of detections: the first run continues as new with its state; the last run closes.
    const long = await scanAs({ id: 'dave.kim@acme.example', type: 'human' });
    const h = env.client.workflow.getHandle(long.workflowId);
    for (let i = 0; i < 2_100; i++) await h.signal(detected, { detectedAt: new Date().toISOString(), detector: 'local-planes' });
    const continued = await waitForState(env.client, long.workflowId, (s) => (s.runs ?? 0) > 0 && s.detections >= 2_101, 120_000);
    if (!continued.runs) throw new Error('the lifecycle did not continue as new');
    await answerFinding(env.client, long.findingId, 'approve', { approver: 'maria.lopez@acme.example', reason: 'revert to Git' });
    await finish(long.workflowId);
    save('lifecycle-continued-first-run', long.workflowId, long.runId);
    save('lifecycle-continued-last-run', long.workflowId, (await h.describe()).runId);
  });
  await w2.close();

  // Reconciliation PRs (issue 10): the staging app scaled by hand is accepted into Git by a PR in
  // the sandbox's Git repository. One PR is closed unmerged (back to approve), the next is merged.
  const table = path.join(patient.home, 'accept-replicas-table.yaml');
  writeFileSync(
    table,
    readFileSync(path.resolve(__dirname, '..', 'domain', 'classify', 'default-decision-table.yaml'), 'utf8').replace(
      /^rules:\n/m,
      'rules:\n  - id: record-accept-replicas\n    ref: "recording"\n    why: the scale-out is accepted into Git\n    when: { pathsAll: [/spec/replicas] }\n    then: { driftClass: STALE_DESIRED_STATE, action: OPEN_RECONCILIATION_PR, risk: MEDIUM, autoHeal: deny, stop: true }\n',
    ),
  );
  const prs = await testConfig(env.address, { DRIFTPLANE_DECISION_TABLE: table, DRIFTPLANE_PR_POLL_INTERVAL: '1h' });
  const w3 = await createDriftplaneWorker(prs, { source: { workflowBundle: await workflowBundle() }, connection: env.nativeConnection, notifier: new ConsoleNotifier(undefined) });
  await w3.worker.runUntil(async () => {
    await seedDemoSandbox(prs.planesDir, new Date());
    const live = path.join(prs.planesDir, 'catalog-web-staging', 'actual', 'deployment-web.json');
    // Only the replica count differs (the sandbox's relabel is undone): the recording's rule accepts it into Git.
    const doc = JSON.parse(readFileSync(live, 'utf8')) as { metadata: { labels: Record<string, string> }; spec: { replicas: number } };
    doc.metadata.labels.tier = 'frontend';
    doc.spec.replicas = 5;
    writeFileSync(live, `${JSON.stringify(doc, null, 2)}\n`);
    const audit = path.join(prs.planesDir, 'catalog-web-staging', 'audit.jsonl');
    writeFileSync(audit, `${JSON.stringify({ resourceRef: 'Deployment/catalog/web', actor: { id: 'tom.berg@acme.example', type: 'human' }, eventTime: new Date(Date.now() - 60_000).toISOString(), eventName: 'kubectl scale', source: 'k8s-audit' })}\n`);
    const scanId = `scan:catalog-web-staging:${Date.now()}`;
    const r = (await env.client.workflow.execute('unitScan', { workflowId: scanId, taskQueue: prs.taskQueue, args: [{ unit: 'catalog-web-staging' }] })) as UnitScanResult;
    if (r.status !== 'drift') throw new Error('no drift in catalog-web-staging');
    const f = r.findings[0]!;
    const h = env.client.workflow.getHandle(f.workflowId);
    const asked = await waitForState(env.client, f.workflowId, (x) => awaitingApproval(x) || x.stage === 'closed');
    if (asked.stage === 'closed') throw new Error(`the PR lifecycle closed ${asked.outcome}: ${JSON.stringify(asked.decision)} ${JSON.stringify(asked.timeline.slice(-4))}`);
    await answerFinding(env.client, f.findingId, 'approve', { approver: 'li.wei@acme.example', reason: 'accept the scale-out into Git' });
    const opened = await waitForState(env.client, f.workflowId, (x) => x.pr?.state === 'open' || x.stage === 'closed');
    if (!opened.pr) throw new Error(`the PR lifecycle closed ${opened.outcome} without a PR: ${JSON.stringify(opened.timeline.slice(-4))}`);
    const first = opened.pr;
    await closePr(first.repo, first.number, { by: 'li.wei@acme.example', at: new Date().toISOString(), reason: 'wrong overlay' });
    await h.signal(pullRequestClosed, { number: first.number, merged: false, repo: first.repo, at: new Date().toISOString(), by: 'li.wei@acme.example', via: 'prs-close' });
    await waitForState(env.client, f.workflowId, (x) => awaitingApproval(x) && (x.closedPrs?.length ?? 0) === 1);
    await answerFinding(env.client, f.findingId, 'approve', { approver: 'li.wei@acme.example', reason: 'accept it, right overlay this time' });
    const second = (await waitForState(env.client, f.workflowId, (x) => x.pr?.state === 'open' && x.pr.number !== first.number)).pr!;
    await mergePr(second.repo, second.number, { by: 'tom.berg@acme.example', at: new Date().toISOString() });
    await h.signal(pullRequestClosed, { number: second.number, merged: true, repo: second.repo, at: new Date().toISOString(), by: 'tom.berg@acme.example', via: 'prs-merge' });
    const done = await finish(f.workflowId);
    if (done.outcome !== 'RECONCILED') throw new Error(`the PR lifecycle closed ${done.outcome}`);
    save('lifecycle-pr-closed-then-merged', f.workflowId, f.runId);
  });
  await w3.close();

  // Credential boundaries (issue 13 §2): catalog-web-staging declares `boundary: auto`; this process
  // runs the control worker and that boundary's worker. The scan detects on the boundary's queue; the
  // lean lifecycle sends reconcile and verify there with the boundary its route recorded.
  const bounded = await testConfig(env.address, { DRIFTPLANE_REGISTRY: await registryWithBoundaries(), DRIFTPLANE_BOUNDARIES: STAGING_BOUNDARY });
  const w4 = await createDriftplaneWorker(bounded, { source: { workflowBundle: await workflowBundle() }, connection: env.nativeConnection, notifier: new ConsoleNotifier(undefined) });
  const running = w4.run();
  try {
    await seedDemoSandbox(bounded.planesDir, new Date());
    const scanId = `scan:catalog-web-staging:boundary:${Date.now()}`;
    const handle = await env.client.workflow.start('unitScan', { workflowId: scanId, taskQueue: bounded.taskQueue, args: [{ unit: 'catalog-web-staging' }] });
    const r = (await handle.result()) as UnitScanResult;
    if (r.status !== 'drift') throw new Error(`no drift in catalog-web-staging on its boundary: ${JSON.stringify(r)}`);
    const f = r.findings[0]!;
    const done = await finish(f.workflowId);
    if (done.outcome !== 'RECONCILED') throw new Error(`the boundary lifecycle closed ${done.outcome}`);
    save('unit-scan-drift-boundary', scanId, handle.firstExecutionRunId);
    save('lifecycle-auto-heal-boundary', f.workflowId, f.runId);
  } finally {
    w4.shutdown();
    await running;
    await w4.close();
  }

  // Hotfix windows (issue 9, part 6): an extended window closed at expiry, and an escalated one accepted.
  await recordHotfixHistories(env, save);

  await env.teardown();
}

main().catch((err: unknown) => {
  process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 3;
});
