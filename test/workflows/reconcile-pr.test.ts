/**
 * Reconciliation PRs on the real Temporal dev server: a lifecycle whose action is
 * OPEN_RECONCILIATION_PR opens a PR and waits for it. A local Git repository (real `git`) and a
 * fake GitHub validated against @octokit/openapi stand for where desired state lives; the merge
 * arrives by `driftplane prs merge`, by the GitHub webhook on `driftplane serve`, or by the
 * lifecycle's own poll; a PR closed unmerged sends the lifecycle back to approve.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergePr } from '../../activities/git-local';
import { EvidenceStore } from '../../evidence/evidence-store';
import { buildServer } from '../../serve';
import { githubFromConfig } from '../../serve/github';
import { branchOf } from '../../domain/reconcile/branch';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import type { LifecycleState } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { answerFinding } from '../support/approver-keys';
import { startGitHubOpenApiServer, type GitHubOpenApiServer } from '../support/github-openapi-server';
import { awaitingApproval, useDevServerWorker, waitForState } from '../support/lifecycle-harness';
import { repoRoot, sharedFixture } from '../support/shared-fixtures';

const run = promisify(execFile);
const git = (cwd: string, ...args: string[]) => run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd }).then((r) => r.stdout.trim());

const UNIT = 'catalog-web-staging';
const APPROVER = 'li.wei@acme.example';
const WEBHOOK_SECRET = 'test-webhook-secret-not-a-real-one';

/**
 * The default decision table plus one test rule, first: a changed replica count is accepted into
 * Git (STALE_DESIRED_STATE → OPEN_RECONCILIATION_PR). Real scans reach that class through matching
 * changes or accepted runtime; the test needs only the action.
 */
function tableWithAcceptRule(): string {
  const text = readFileSync(path.join(repoRoot, 'domain', 'classify', 'default-decision-table.yaml'), 'utf8');
  const rule = [
    '  - id: test-accept-replicas',
    '    ref: "test"',
    '    why: the scale-out is accepted into Git',
    '    when: { pathsAll: [/spec/replicas] }',
    '    then: { driftClass: STALE_DESIRED_STATE, action: OPEN_RECONCILIATION_PR, risk: MEDIUM, autoHeal: deny, stop: true }',
    '',
  ].join('\n');
  const dir = path.join(os.tmpdir(), `driftplane-table-${randomUUID()}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'table.yaml');
  writeFileSync(file, text.replace(/^rules:\n/m, `rules:\n${rule}`));
  return file;
}

const DESIRED_YAML = `# Catalog storefront, staging overlay (rendered by Argo CD).
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: catalog
  labels:
    app: web
    tier: frontend
spec:
  # Two replicas are enough for staging traffic.
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/catalog@sha256:9b1d0c7e55aa
`;

const live = (replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'catalog', labels: { app: 'web', tier: 'frontend' } },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/catalog@sha256:9b1d0c7e55aa' }] } },
  },
  status: { replicas, readyReplicas: replicas, availableReplicas: replicas, conditions: [{ type: 'Available', status: 'True' }] },
});

/** Writes the unit's planes (desired YAML with comments, live JSON scaled to 5) and, when asked, makes the planes folder a Git repository. */
async function seed(planesDir: string, opts: { gitRepo: boolean }) {
  const dir = path.join(planesDir, UNIT);
  await rm(planesDir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'desired'), { recursive: true });
  await mkdir(path.join(dir, 'actual'), { recursive: true });
  await writeFile(path.join(dir, 'desired', 'deployment.yaml'), DESIRED_YAML);
  await writeFile(path.join(dir, 'actual', 'deployment-web.json'), `${JSON.stringify(live(5), null, 2)}\n`);
  await appendFile(
    path.join(dir, 'audit.jsonl'),
    `${JSON.stringify({ resourceRef: 'Deployment/catalog/web', actor: { id: 'tom.berg@acme.example', type: 'human' }, eventTime: new Date(Date.now() - 60_000).toISOString(), eventName: 'kubectl scale', source: 'k8s-audit' })}\n`,
  );
  if (opts.gitRepo) {
    await writeFile(path.join(planesDir, '.gitignore'), '*/actual/\n*/audit.jsonl\n*/ledger.jsonl\n');
    await git(planesDir, 'init', '-q', '-b', 'main');
    await git(planesDir, 'add', '-A');
    await git(planesDir, 'commit', '-q', '-m', 'desired state');
  }
}

const table = tableWithAcceptRule();

async function scanOne(t: ReturnType<typeof useDevServerWorker>) {
  const r = (await t.env.client.workflow.execute('unitScan', { workflowId: `scan:${UNIT}:${randomUUID()}`, taskQueue: t.config.taskQueue, args: [{ unit: UNIT }] })) as UnitScanResult;
  if (r.status !== 'drift') throw new Error(`expected drift, got ${JSON.stringify(r)}`);
  return r.findings[0]!;
}

const hasOpenPr = (s: LifecycleState) => s.pr?.state === 'open';

describe('reconciliation PRs to a local Git repository', () => {
  // A poll far away: the merge must arrive by the signal of `driftplane prs merge`.
  const t = useDevServerWorker({ DRIFTPLANE_DECISION_TABLE: table, DRIFTPLANE_PR_POLL_INTERVAL: '1h', DRIFTPLANE_VERIFY_INTERVAL: '1s' });

  it('opens a PR that changes the manifest in place, and closes RECONCILED after `driftplane prs merge` and re-detection', async () => {
    await seed(t.config.planesDir, { gitRepo: true });
    const f = await scanOne(t);
    const waiting = await waitForState(t.env.client, f.workflowId, awaitingApproval);
    expect(waiting.decision).toMatchObject({ driftClass: 'STALE_DESIRED_STATE', recommendedAction: 'OPEN_RECONCILIATION_PR' });
    await answerFinding(t.env.client, f.findingId, 'approve', { approver: APPROVER, reason: 'the scale-out stays: staging load tests need 5 replicas' });

    const opened = await waitForState(t.env.client, f.workflowId, hasOpenPr);
    const pr = opened.pr!;
    expect(pr).toMatchObject({ provider: 'local-git', repo: t.config.planesDir, number: 1, branch: branchOf(f.findingId), state: 'open' });
    expect(opened.stage).toBe('reconcile');
    // One commit on the branch, changing exactly the replica count; comments and layout kept; the working tree untouched.
    const diff = await git(t.config.planesDir, 'diff', `main...${pr.branch}`);
    expect(diff).toContain('-  replicas: 2');
    expect(diff).toContain('+  replicas: 5');
    expect(diff.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toHaveLength(2);
    const onBranch = await git(t.config.planesDir, 'show', `${pr.branch}:${UNIT}/desired/deployment.yaml`);
    expect(onBranch).toContain('# Two replicas are enough for staging traffic.');
    expect(await readFile(path.join(t.config.planesDir, UNIT, 'desired', 'deployment.yaml'), 'utf8')).toBe(DESIRED_YAML);
    // The PR body is the §23 template, generated from the finding.
    const body = await readFile(pr.recordPath!.replace(/\.json$/, '.md'), 'utf8');
    expect(body).toContain('## Drift Reconciliation');
    expect(body).toContain(`Finding: \`${f.findingId}\``);
    expect(body).toContain('the scale-out stays: staging load tests need 5 replicas');

    // A real `driftplane prs merge` (real `git merge`) signals the lifecycle.
    const { stdout } = await run(process.execPath, [path.join(repoRoot, 'bin', 'driftplane.cjs'), 'prs', 'merge', '1', '--repo', t.config.planesDir, '--as', APPROVER, '--json'], {
      env: { ...process.env, TEMPORAL_ADDRESS: t.config.temporalAddress, TEMPORAL_NAMESPACE: t.config.namespace },
    });
    expect(JSON.parse(stdout)).toMatchObject({ changed: true, signal: { sent: true } });

    const done = (await t.env.client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
    expect(done.outcome).toBe('RECONCILED');
    expect(done.pr).toMatchObject({ state: 'merged', via: 'prs-merge', by: APPROVER });
    const events = done.timeline.map((e) => e.event);
    expect(events).toEqual(expect.arrayContaining(['pr opened', 'pr merged', 'verified']));
    expect(events.indexOf('pr merged')).toBeLessThan(events.indexOf('verified'));
    const steps = (await new EvidenceStore(t.config.evidenceDir).read(f.findingId)).map((r) => r.step);
    expect(steps).toEqual(['detected', 'classified', 'routed', 'approval', 'reconciled', 'pr-1-merged', 'verified-1', 'closed']);
  });

});

describe('the durable poll behind the webhook', () => {
  const t = useDevServerWorker({ DRIFTPLANE_DECISION_TABLE: table, DRIFTPLANE_PR_POLL_INTERVAL: '1s', DRIFTPLANE_VERIFY_INTERVAL: '1s' });

  it('sees a merge it was not told about at its next poll', async () => {
    await seed(t.config.planesDir, { gitRepo: true });
    const f = await scanOne(t);
    await waitForState(t.env.client, f.workflowId, awaitingApproval);
    await answerFinding(t.env.client, f.findingId, 'approve', { approver: APPROVER, reason: 'accept the scale-out into Git' });
    const opened = await waitForState(t.env.client, f.workflowId, hasOpenPr);
    // Merged without a signal (a lost webhook): only the lifecycle's poll can notice.
    await mergePr(t.config.planesDir, opened.pr!.number, { by: 'someone@acme.example', at: new Date().toISOString() });
    const done = (await t.env.client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
    expect(done.outcome).toBe('RECONCILED');
    expect(done.pr).toMatchObject({ state: 'merged', via: 'poll' });
  });
});

describe('reconciliation PRs on GitHub, closed and merged through the webhook', () => {
  let github: GitHubOpenApiServer;
  // The worker reads its overrides when it starts, after the fake GitHub below has its address.
  const overrides: Record<string, string> = {
    DRIFTPLANE_DECISION_TABLE: table,
    DRIFTPLANE_PR_POLL_INTERVAL: '1h',
    DRIFTPLANE_VERIFY_INTERVAL: '1s',
    GITHUB_TOKEN: 'ghs_test_token_not_real',
    GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
  };
  beforeAll(async () => {
    github = await startGitHubOpenApiServer();
    overrides.GITHUB_API_URL = github.url;
  });
  afterAll(async () => github?.close());
  const t = useDevServerWorker(overrides);

  /** GitHub's real `pull_request` closed payload, with the fields this PR needs set by the test (head branch, number, repository, merged). */
  function payload(pr: NonNullable<LifecycleState['pr']>, merged: boolean): string {
    const p = JSON.parse(readFileSync(sharedFixture('github/octokit-webhooks__payload-examples__api.github.com__pull_request__closed.payload.json'), 'utf8')) as {
      number: number;
      pull_request: { number: number; merged: boolean; head: { ref: string; repo: { full_name: string } }; html_url: string; merged_by: unknown };
      repository: { full_name: string };
    };
    p.number = pr.number;
    p.pull_request.number = pr.number;
    p.pull_request.merged = merged; // the fixture says false; the merged case is set here
    p.pull_request.head.ref = pr.branch;
    p.pull_request.head.repo.full_name = pr.repo;
    p.repository.full_name = pr.repo;
    p.pull_request.html_url = pr.url;
    return JSON.stringify(p);
  }

  async function deliver(body: string) {
    const gh = githubFromConfig(t.config);
    const app = await buildServer([gh.module]);
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/github/webhook',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'pull_request',
          'x-github-delivery': randomUUID(),
          'x-hub-signature-256': `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`,
        },
        payload: body,
      });
      return res;
    } finally {
      await app.close();
      await gh.close();
    }
  }

  it('goes back to approve when the PR is closed unmerged, and verifies after the next PR is merged', async () => {
    github.addRepo('acme/gitops', { 'apps/catalog-web/overlays/staging/deployment.yaml': DESIRED_YAML, 'README.md': '# gitops\n' });
    await seed(t.config.planesDir, { gitRepo: false });
    const f = await scanOne(t);
    await waitForState(t.env.client, f.workflowId, awaitingApproval);
    await answerFinding(t.env.client, f.findingId, 'approve', { approver: APPROVER, reason: 'accept the scale-out into Git' });
    const first = (await waitForState(t.env.client, f.workflowId, hasOpenPr)).pr!;
    expect(first).toMatchObject({ provider: 'github', repo: 'acme/gitops', branch: branchOf(f.findingId) });
    // Every request the production Octokit client sent matched GitHub's published API description.
    expect(github.invalid).toEqual([]);
    const opened = github.pulls('acme/gitops').find((p) => p.number === first.number)!;
    expect(opened.teams).toEqual(['catalog']);
    expect(opened.labels).toEqual(expect.arrayContaining(['driftplane', 'STALE_DESIRED_STATE', 'MEDIUM']));

    // GitHub's real closed payload (merged: false): back to approve, the PR's state in the timeline.
    expect((await deliver(payload(first, false))).statusCode).toBe(200);
    const again = await waitForState(t.env.client, f.workflowId, (s) => awaitingApproval(s) && (s.closedPrs?.length ?? 0) === 1);
    expect(again.timeline.map((e) => e.event)).toContain('pr closed');
    expect(again.closedPrs?.[0]).toMatchObject({ number: first.number, state: 'closed', via: 'github-webhook' });

    await answerFinding(t.env.client, f.findingId, 'approve', { approver: APPROVER, reason: 'accept it after all, with the review comments addressed' });
    const second = (await waitForState(t.env.client, f.workflowId, (s) => hasOpenPr(s) && s.pr!.number !== first.number)).pr!;
    expect(second.branch).toBe(`${branchOf(f.findingId)}-r2`);

    // The same payload with merged: true (set by this test): verify. Argo CD would now sync the
    // merged manifest; the test applies it to the desired plane the detector reads.
    expect((await deliver(payload(second, true))).statusCode).toBe(200);
    const merged = await waitForState(t.env.client, f.workflowId, (s) => s.pr?.state === 'merged');
    expect(merged.pr?.via).toBe('github-webhook');
    const mergedFile = [...github.filesAt('acme/gitops', github.refs('acme/gitops').get(`heads/${second.branch}`)!)].find(([p]) => p.endsWith('deployment.yaml'))![1];
    await writeFile(path.join(t.config.planesDir, UNIT, 'desired', 'deployment.yaml'), mergedFile);
    const done = (await t.env.client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
    expect(done.outcome).toBe('RECONCILED');
    expect(github.invalid).toEqual([]);
    // Both approvals, both PRs and the first PR's close are in evidence, each its own step.
    const steps = (await new EvidenceStore(t.config.evidenceDir).read(f.findingId)).filter((r) => r.runId === f.runId).map((r) => r.step);
    expect(steps).toEqual(['detected', 'classified', 'routed', 'approval', 'reconciled', `pr-${first.number}-closed`, 'approval-2', 'reconciled-2', `pr-${second.number}-merged`, 'verified-1', 'closed']);
  });

  it('refuses a forged delivery with 401 and leaves the lifecycle waiting', async () => {
    const res = await (async () => {
      const gh = githubFromConfig(t.config);
      const app = await buildServer([gh.module]);
      try {
        return await app.inject({ method: 'POST', url: '/github/webhook', headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': 'sha256=' + '0'.repeat(64) }, payload: '{}' });
      } finally {
        await app.close();
        await gh.close();
      }
    })();
    expect(res.statusCode).toBe(401);
  });
});

describe('a PR left open, and an executor that cannot run', () => {
  // No GitHub token on this worker, a PR timeout of 2s and one escalation.
  const t = useDevServerWorker({ DRIFTPLANE_DECISION_TABLE: table, DRIFTPLANE_PR_POLL_INTERVAL: '1h', DRIFTPLANE_PR_TIMEOUT: '2s', DRIFTPLANE_MAX_ESCALATIONS: '1' });

  it('escalates a PR left open past the policy timeout like an approval, then expires', async () => {
    await seed(t.config.planesDir, { gitRepo: true });
    const f = await scanOne(t);
    await waitForState(t.env.client, f.workflowId, awaitingApproval);
    await answerFinding(t.env.client, f.findingId, 'approve', { approver: APPROVER, reason: 'accept the scale-out into Git' });
    const done = (await t.env.client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
    expect(done.outcome).toBe('EXPIRED');
    expect(done.pr?.state).toBe('open');
    const escalated = done.timeline.filter((e) => e.event === 'escalated');
    expect(escalated).toHaveLength(1);
    expect(escalated[0]!.detail).toContain(`${done.pr!.url} is still open`);
    const records = await new EvidenceStore(t.config.evidenceDir).read(f.findingId);
    expect(records.find((r) => r.step === 'escalated-1')?.data).toMatchObject({ level: 1, after: '2s', waitingFor: `review of ${done.pr!.url}` });
  });

  it('closes FAILED, with the named reason in its timeline and evidence, when the PR cannot be opened', async () => {
    // Desired state on github.com, and this worker has no GITHUB_TOKEN: a permanent, named refusal, never UNVERIFIED.
    await seed(t.config.planesDir, { gitRepo: false });
    const f = await scanOne(t);
    await waitForState(t.env.client, f.workflowId, awaitingApproval);
    await answerFinding(t.env.client, f.findingId, 'approve', { approver: APPROVER, reason: 'accept the scale-out into Git' });
    const done = (await t.env.client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
    expect(done.outcome).toBe('FAILED');
    expect(done.timeline.find((e) => e.event === 'reconcile failed')?.detail).toMatch(/^GitHubNotConfigured: a PR to github\.com\/acme\/gitops needs GitHub access/);
    // This run's record (the test before left its own records in the same finding's chain).
    const reconciled = (await new EvidenceStore(t.config.evidenceDir).read(f.findingId)).find((r) => r.step === 'reconciled' && r.runId === f.runId)!.data;
    expect(reconciled).toMatchObject({ action: 'OPEN_RECONCILIATION_PR', executed: false, refused: { type: 'GitHubNotConfigured' } });
  });
});

describe('reopen on regression', () => {
  const t = useDevServerWorker({ DRIFTPLANE_REOPEN_WINDOW: '7d' });

  it('links a new run to the RECONCILED one it reopens, raises the risk one step, and `driftplane show` prints the chain', async () => {
    // The staging relabel auto-heals: the first run closes RECONCILED by itself.
    await seedDemoSandbox(t.config.planesDir, new Date());
    const first = await scanUnit(t, 'catalog-web-staging');
    const closed = (await t.env.client.workflow.getHandle(first.workflowId).result()) as LifecycleState;
    expect(closed.outcome).toBe('RECONCILED');

    // The same person relabels it again: the same fingerprint, within the window.
    await seedDemoSandbox(t.config.planesDir, new Date());
    const again = await scanUnit(t, 'catalog-web-staging');
    expect(again.workflowId).toBe(first.workflowId);
    expect(again.runId).not.toBe(first.runId);
    const s = await waitForState(t.env.client, again.workflowId, (x) => x.decision !== undefined);
    expect(s.previous).toMatchObject({ workflowId: first.workflowId, runId: first.runId, outcome: 'RECONCILED' });
    expect(s.timeline.find((e) => e.event === 'reopened')?.detail).toContain(first.runId);
    expect(s.observation.regression).toMatchObject({ previousRunId: first.runId, previousOutcome: 'RECONCILED' });
    const rule = s.decision!.reasons.find((r) => r.ruleId === 'regression-reopened');
    expect(rule?.why).toContain(first.runId);
    // One step above the unraised risk (the first run may itself have reopened an earlier test's run on this shared server).
    const firstRaised = closed.decision!.reasons.some((r) => r.ruleId === 'regression-reopened');
    expect(RISKS.indexOf(s.decision!.risk)).toBe(RISKS.indexOf(closed.decision!.risk) + (firstRaised ? 0 : 1));

    const { stdout } = await run(process.execPath, [path.join(repoRoot, 'bin', 'driftplane.cjs'), 'show', again.findingId, '--json'], {
      env: { ...process.env, TEMPORAL_ADDRESS: t.config.temporalAddress, TEMPORAL_NAMESPACE: t.config.namespace },
    });
    const shown = JSON.parse(stdout) as { chain: { runId: string; outcome: string }[] };
    expect(shown.chain[0]).toMatchObject({ runId: first.runId, outcome: 'RECONCILED' });
  });
});

const RISKS = ['INFO', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

async function scanUnit(t: ReturnType<typeof useDevServerWorker>, unit: string) {
  const r = (await t.env.client.workflow.execute('unitScan', { workflowId: `scan:${unit}:${randomUUID()}`, taskQueue: t.config.taskQueue, args: [{ unit }] })) as UnitScanResult;
  if (r.status !== 'drift') throw new Error(`expected drift, got ${JSON.stringify(r)}`);
  return r.findings[0]!;
}
