import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { InputError } from '../domain/errors';
import { evidenceFolderName } from '../domain/finding';
import type { LifecycleState } from '../workflows/messages';
import { state } from '../workflows/messages';
import type { StalenessSweepResult } from '../workflows/staleness-sweep';
import type { UnitScanResult } from '../workflows/unit-scan';
import type { Config } from '../workers/config';
import { answerFinding } from './commands/lifecycle';
import { DEMO_AWS_APPROVER, DEMO_AWS_SECOND_APPROVER, DEMO_AWS_UNIT, seedAwsSandbox } from './demo-aws-sandbox';
import { DEMO_APPROVER, DEMO_APPROVER_SLACK_ID, DEMO_HOTFIX, DEMO_UNITS, hotfixChange, seedDemoSandbox } from './demo-sandbox';
import { postSignedSlackSubmission } from './slack-signed-request';
import { hotfixWindowId } from '../domain/hotfix';

const run = promisify(execFile);
const binPath = path.resolve(__dirname, '..', 'bin', 'driftplane.cjs');

/** One finding in the demo's summary (and in `demo --json`). */
export interface DemoFinding {
  findingId: string;
  workflowId: string;
  unit: string;
  resourceRef: string;
  stage: string;
  outcome?: string;
  driftClass?: string;
  risk?: string;
  recommendedAction?: string;
  autoHealAllowed?: boolean;
  approvedBy?: string;
  stages: string[];
  evidencePath: string;
  /** Which detector saw it (local-planes, aws-inventory, ...). */
  detector: string;
  /** Who made the change, when an audit trail (k8s audit, CloudTrail) says so. */
  changedBy?: { actor: string; source: string; eventName?: string };
  /** What the reconcile step did (or why it did nothing). */
  reconcileDetail?: string;
}

/** The demo's result. */
export interface DemoResult {
  findings: DemoFinding[];
  refusedApprovals: { findingId: string; as: string; why: string }[];
  temporalUiUrl?: string;
  /** Where the demo's `driftplane serve` listened. */
  serveUrl?: string;
  /** The answers given as Slack would give them: a signed request to `driftplane serve`. */
  slackAnswers?: { findingId: string; slackUserId: string; status: number }[];
  /** The hotfix-reconciliation window the demo opened, and the emergency drift made inside it. */
  hotfix?: { windowId: string; state: string; attached: string[]; finding: DemoFinding };
  /** Reconciliation PRs the demo's lifecycles opened in its desired-state Git repository. */
  prs?: DemoPr[];
}

/** A reconciliation PR of the demo (a branch, a commit and a PR record in a real Git repository). */
export interface DemoPr {
  findingId: string;
  number: number;
  repo: string;
  branch: string;
  commit: string;
  /** The PR's body (the §23 template), next to its record. */
  bodyPath?: string;
  state: string;
  url: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Drives the demo scenario end to end against a running worker: seed the sandbox, make the
 * out-of-band changes, scan each unit, answer the approvals through the `driftplane` CLI (after
 * showing that the drift's own actor is refused), and wait for every lifecycle to close.
 */
export async function runDemo(client: Client, config: Config, log: (line: string) => void, opts: { awsEndpoint?: string; sshKeyFor?: (identity: string) => string | undefined; serveUrl?: string } = {}): Promise<DemoResult> {
  const changes = await seedDemoSandbox(config.planesDir, new Date());
  // The AWS sandbox (moto on loopback): a real out-of-band change made through the AWS SDK.
  if (opts.awsEndpoint) changes.push(...(await seedAwsSandbox(opts.awsEndpoint, config.home, new Date())));
  for (const c of changes) log(`out-of-band change: ${c.actor.id} ${c.what} on ${c.resourceRef} (${c.unit})`);

  // As `schedules sync` would: the staleness sweep notes every registered unit, so each one's
  // detection clock starts now (a unit the demo does not scan is "not checked yet", not overdue).
  const sweep = (await client.workflow.execute('stalenessSweep', { workflowId: `staleness-sweep:${new Date().toISOString()}`, taskQueue: config.taskQueue, args: [{}] })) as StalenessSweepResult;
  log(`staleness sweep: ${sweep.checked} unit(s) noted, ${sweep.overdue.length} overdue`);

  const opened: { unit: string; findingId: string; workflowId: string; resourceRef: string }[] = [];
  for (const unit of [...DEMO_UNITS, ...(opts.awsEndpoint ? [DEMO_AWS_UNIT] : [])]) {
    const scan = (await client.workflow.execute('unitScan', {
      workflowId: `scan:${unit}:${new Date().toISOString()}`,
      taskQueue: config.taskQueue,
      args: [{ unit }],
    })) as UnitScanResult;
    if (scan.status === 'failed') throw new InputError(`scan of ${unit} failed: ${scan.error}`);
    if (scan.status === 'clean' || scan.status === 'partial') throw new InputError(`scan of ${unit} found no drift, but the demo changed it`);
    log(`scan ${unit}: ${scan.findings.length} finding(s) in ${scan.resources} resource(s)`);
    for (const f of scan.findings) opened.push({ unit, ...f });
  }

  const refused: DemoResult['refusedApprovals'] = [];
  const slackAnswers: NonNullable<DemoResult['slackAnswers']> = [];
  const pending = new Set(opened.map((o) => o.workflowId));
  const deadline = Date.now() + 120_000;
  while (pending.size > 0) {
    if (Date.now() > deadline) throw new Error(`lifecycles did not finish in time: ${[...pending].join(', ')}`);
    for (const o of opened.filter((x) => pending.has(x.workflowId))) {
      const handle = client.workflow.getHandle(o.workflowId);
      const s = await handle.query(state);
      if (s.stage === 'closed') {
        pending.delete(o.workflowId);
        continue;
      }
      if (s.stage === 'approve' && s.route && !s.answer && s.decision && !s.decision.autoHealAllowed) {
        const actor = s.observation.auditCorrelation?.actor.id;
        if (actor && !refused.some((r) => r.findingId === o.findingId)) {
          // The drift's own actor tries to approve: the Update's validator refuses, leaving no trace in history.
          try {
            await answerFinding(client, o.findingId, 'approve', { approver: actor, reason: 'it was me, it is fine' });
          } catch (err) {
            const why = (err as Error).message.replace(/^.*refused for [^:]+:[^:]+: /, '');
            refused.push({ findingId: o.findingId, as: actor, why });
            log(`refused approval of ${o.findingId} as ${actor}: ${why}`);
          }
        }
        // A CRITICAL finding needs two distinct approvers: each answer comes from the next person who has not approved yet.
        const [approvers, reason] =
          o.unit === DEMO_AWS_UNIT
            ? [[DEMO_AWS_APPROVER, DEMO_AWS_SECOND_APPROVER], 'SSH open to the world in prod: revert to the recorded rules']
            : [[DEMO_APPROVER], 'Unapproved image tag in prod: revert to the digest in Git'];
        const approver = approvers.find((a) => !(s.approvals ?? []).some((x) => x.approver === a));
        if (!approver) continue;
        const signingSecret = config.slack.signingSecret?.();
        if (o.unit !== DEMO_AWS_UNIT && opts.serveUrl && signingSecret) {
          // The production image patch is approved the way a person in Slack would: the reason modal's
          // submission, signed with the app's signing secret, posted to `driftplane serve`.
          if (slackAnswers.some((a) => a.findingId === o.findingId)) continue;
          const slackUserId = DEMO_APPROVER_SLACK_ID;
          const r = await postSignedSlackSubmission({ serveUrl: opts.serveUrl, signingSecret, slackUserId, findingId: o.findingId, answer: 'approve', reason });
          slackAnswers.push({ findingId: o.findingId, slackUserId, status: r.status });
          log(`approving ${o.findingId} from Slack as ${slackUserId} (${approver}): a signed view_submission to ${opts.serveUrl}/slack/interactivity → HTTP ${r.status}`);
          continue;
        }
        log(`approving ${o.findingId} through the CLI as ${approver}`);
        const { stdout } = await run(process.execPath, [binPath, 'approve', o.findingId, '--as', approver, '--reason', reason], {
          // Each approver signs with their own SSH key (made by provisionApproverKeys; registered in the demo's registry copy).
          env: { ...process.env, TEMPORAL_ADDRESS: config.temporalAddress, TEMPORAL_NAMESPACE: config.namespace, DRIFTPLANE_SSH_KEY: opts.sshKeyFor?.(approver) ?? '' },
        });
        log(`  driftplane approve: ${stdout.trim()}`);
      }
    }
    if (pending.size > 0) await sleep(300);
  }

  const findings: DemoFinding[] = [];
  for (const o of opened) {
    const s = (await client.workflow.getHandle(o.workflowId).result()) as LifecycleState;
    findings.push(summarize(o, s, config));
  }
  const hotfix = await demoHotfixWindow(client, config, log, opts);
  const prs = hotfix.pr ? [hotfix.pr] : [];
  const { pr: _pr, ...window } = hotfix;
  return { findings, refusedApprovals: refused, ...(slackAnswers.length ? { slackAnswers } : {}), hotfix: window, ...(prs.length ? { prs } : {}) };
}

/**
 * A hotfix-reconciliation window (§13): the incident responder opens one for INC-9127, then scales
 * the production checkout by hand under break-glass. That drift is EMERGENCY_DRIFT, attached to the
 * window and not reverted. The reviewer approves accepting it into Git: the lifecycle opens a
 * reconciliation PR in the demo's desired-state repository (a branch and a commit changing the
 * manifest), the reviewer records it on the window and merges it with `driftplane prs merge` (a
 * real `git merge`), the lifecycle verifies by detecting again and closes RECONCILED, and the
 * window closes. Every step goes through the real `driftplane` CLI.
 */
async function demoHotfixWindow(
  client: Client,
  config: Config,
  log: (line: string) => void,
  opts: { sshKeyFor?: (identity: string) => string | undefined },
): Promise<NonNullable<DemoResult['hotfix']> & { pr?: DemoPr }> {
  const { unit, incident, actor, reviewer } = DEMO_HOTFIX;
  const env = (as?: string) => ({
    ...process.env,
    TEMPORAL_ADDRESS: config.temporalAddress,
    TEMPORAL_NAMESPACE: config.namespace,
    DRIFTPLANE_TASK_QUEUE: config.taskQueue,
    DRIFTPLANE_REGISTRY: config.registryDir,
    DRIFTPLANE_HOME: config.home,
    DRIFTPLANE_SSH_KEY: (as && opts.sshKeyFor?.(as)) ?? '',
  });
  const cli = async (args: string[], as?: string) => (await run(process.execPath, [binPath, ...args], { env: env(as) })).stdout.trim();
  const windowId = hotfixWindowId(unit, incident);
  log(`incident ${incident}: ${actor} opens a 72h hotfix window on ${unit}`);
  await cli(['hotfix', 'start', '--incident', incident, '--unit', unit, '--window', '72h', '--actor', actor, '--reason', 'checkout latency incident: scale out by hand'], actor);
  const change = await hotfixChange(config.planesDir, new Date());
  log(`out-of-band change: ${change.actor.id} (${change.actor.type}) ${change.what} on ${change.resourceRef}`);
  const scan = (await client.workflow.execute('unitScan', { workflowId: `scan:${unit}:${new Date().toISOString()}`, taskQueue: config.taskQueue, args: [{ unit }] })) as UnitScanResult;
  if (scan.status !== 'drift') throw new InputError(`scan of ${unit} found no drift after the hotfix change (${scan.status})`);
  const f = scan.findings[0]!;
  const waiting = await waitFor(client, f.workflowId, (x) => x.stage === 'approve' && x.route !== undefined);
  log(`  ${f.findingId}: ${waiting.decision?.driftClass} (${waiting.decision?.risk}) → ${waiting.decision?.recommendedAction}, auto-heal ${waiting.decision?.autoHealAllowed ? 'allowed' : 'refused'}; attached to ${windowId}`);
  await cli(['approve', f.findingId, '--as', reviewer, '--reason', 'the emergency scale-out stays: accept it into Git'], reviewer);
  const opened = await waitFor(client, f.workflowId, (x) => x.pr?.state === 'open' || x.stage === 'closed');
  const pr = opened.pr;
  if (!pr) throw new Error(`the lifecycle of ${f.findingId} closed ${opened.outcome} without opening a PR: ${opened.timeline.at(-2)?.detail ?? ''}`);
  log(`  reconciliation PR #${pr.number} on ${pr.branch} (commit ${pr.commit.slice(0, 12)}) in ${pr.repo}`);
  await cli(['hotfix', 'resolve', '--unit', unit, '--incident', incident, '--finding', f.findingId, '--resolution', 'pr', '--reference', pr.url, '--as', reviewer, '--reason', 'replicas back-ported to Git'], reviewer);
  await cli(['prs', 'merge', String(pr.number), '--repo', pr.repo, '--as', reviewer, '--reason', 'reviewed: the emergency replica count becomes desired state'], reviewer);
  log(`  driftplane prs merge ${pr.number}: merged with git merge; the lifecycle detects again to verify`);
  const closed = (await client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
  await cli(['hotfix', 'close', '--unit', unit, '--incident', incident, '--as', reviewer, '--reason', 'incident resolved; every emergency change has a back-port'], reviewer);
  const status = JSON.parse(await cli(['hotfix', 'status', '--unit', unit, '--incident', incident, '--json'])) as { status: string; findings: { findingId: string }[] };
  const windowState = status.status;
  log(`  ${windowId}: ${windowState}; the lifecycle closed ${closed.outcome} (accepted into Git, not reverted)`);
  const merged = closed.pr ?? pr;
  return {
    windowId,
    state: windowState,
    attached: status.findings.map((x) => x.findingId),
    finding: summarize({ unit, ...f }, closed, config),
    pr: {
      findingId: f.findingId,
      number: merged.number,
      repo: merged.repo,
      branch: merged.branch,
      commit: merged.commit,
      ...(merged.recordPath ? { bodyPath: merged.recordPath.replace(/\.json$/, '.md') } : {}),
      state: merged.state,
      url: merged.url,
    },
  };
}

async function waitFor(client: Client, workflowId: string, until: (s: LifecycleState) => boolean, timeoutMs = 60_000): Promise<LifecycleState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await client.workflow.getHandle(workflowId).query(state).catch(() => undefined);
    if (s && until(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${workflowId}`);
    await sleep(300);
  }
}

function summarize(o: { unit: string; findingId: string; workflowId: string; resourceRef: string }, s: LifecycleState, config: Config): DemoFinding {
  const stages = [...new Set(s.timeline.filter((t) => t.event === 'entered').map((t) => t.stage))];
  const reconciled = s.timeline.find((t) => t.stage === 'reconcile' && (t.event === 'reconciled' || t.event === 'recorded'))?.detail;
  return {
    findingId: o.findingId,
    workflowId: o.workflowId,
    unit: o.unit,
    resourceRef: o.resourceRef,
    stage: s.stage,
    ...(s.outcome ? { outcome: s.outcome } : {}),
    ...(s.decision
      ? { driftClass: s.decision.driftClass, risk: s.decision.risk, recommendedAction: s.decision.recommendedAction, autoHealAllowed: s.decision.autoHealAllowed }
      : {}),
    ...(s.answer ? { approvedBy: (s.approvals?.length ? s.approvals.map((a) => a.approver) : [s.answer.approver]).join(' + ') } : s.decision?.autoHealAllowed ? { approvedBy: 'policy:auto-heal' } : {}),
    stages,
    evidencePath: path.join(config.evidenceDir, evidenceFolderName(o.findingId)),
    detector: s.observation.detector,
    ...(s.observation.auditCorrelation
      ? {
          changedBy: {
            actor: s.observation.auditCorrelation.actor.id,
            source: s.observation.auditCorrelation.source,
            ...(s.observation.auditCorrelation.eventName ? { eventName: s.observation.auditCorrelation.eventName } : {}),
          },
        }
      : {}),
    ...(reconciled ? { reconcileDetail: reconciled } : {}),
  };
}

/** The demo's summary for a person. */
export function renderDemo(r: DemoResult): string {
  const lines = ['', 'driftplane demo: summary', ''];
  for (const f of r.findings) {
    lines.push(
      `${f.findingId}`,
      `  ${f.resourceRef}: ${f.driftClass} (${f.risk}) → ${f.recommendedAction}, auto-heal ${f.autoHealAllowed ? 'allowed' : 'refused'}`,
      `  detected ${f.detector}${f.changedBy ? `; changed by ${f.changedBy.actor} (${f.changedBy.source}${f.changedBy.eventName ? ` ${f.changedBy.eventName}` : ''})` : ''}`,
      `  stages   ${f.stages.join(' → ')}`,
      ...(f.reconcileDetail ? [`  action   ${f.reconcileDetail}`] : []),
      `  outcome  ${f.outcome ?? '-'}${f.approvedBy ? `, approved by ${f.approvedBy}` : ''}`,
      `  evidence ${f.evidencePath}`,
      '',
    );
  }
  for (const x of r.refusedApprovals) lines.push(`refused: ${x.as} on ${x.findingId}: ${x.why}`);
  for (const x of r.slackAnswers ?? []) lines.push(`slack:   ${x.findingId} approved by Slack user ${x.slackUserId} through driftplane serve (signed request, HTTP ${x.status})`);
  if (r.hotfix) {
    const h = r.hotfix;
    lines.push(
      '',
      `hotfix window ${h.windowId}: ${h.state}; attached ${h.attached.join(', ') || '(none)'}`,
      `  ${h.finding.resourceRef}: ${h.finding.driftClass} (${h.finding.risk}) → ${h.finding.recommendedAction}, auto-heal ${h.finding.autoHealAllowed ? 'allowed' : 'refused'}`,
      `  changed by ${h.finding.changedBy?.actor ?? '?'}; outcome ${h.finding.outcome ?? '-'} (the emergency change stays: accepted into Git by a reconciliation PR)`,
      `  evidence ${h.finding.evidencePath}`,
    );
  }
  for (const p of r.prs ?? []) {
    lines.push('', `reconciliation PR #${p.number} (${p.state}) for ${p.findingId}`, `  branch ${p.branch}, commit ${p.commit.slice(0, 12)} in ${p.repo}`, ...(p.bodyPath ? [`  body   ${p.bodyPath}`] : []), `  driftplane prs show ${p.number} --repo ${p.repo}`);
  }
  if (r.temporalUiUrl) lines.push('', `Temporal UI: ${r.temporalUiUrl}/namespaces/default/workflows`);
  if (r.serveUrl) lines.push(`driftplane serve: ${r.serveUrl} (POST /slack/interactivity, GET /healthz)`);
  return `${lines.join('\n')}\n`;
}
