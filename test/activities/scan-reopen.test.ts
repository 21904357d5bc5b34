import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  createScanActivities,
  reopenableRun,
  temporalLifecycleStarter,
  type LatestRun,
  type LifecycleStart,
  type LifecycleStarter,
} from '../../activities/scan';
import type { LocalPlanes } from '../../activities/local-planes/local-planes';
import { readReopenChain, renderLifecycle } from '../../cli/commands/lifecycle';
import { DriftObservationSchema, findingIdOf, fingerprintOf, workflowIdOf, type DriftObservation } from '../../domain/finding';
import type { LifecycleInput } from '../../workflows/messages';

// openLifecycles decides "reopen on regression" through a narrow interface (describe, result,
// signal-with-start). This fake keeps Temporal's semantics that matter here: one workflow id, runs
// newest last; signal-with-start joins a running run and otherwise starts a new one (the default
// id-reuse policy allows a new run after a closed one); describe reports the latest run.

const NOW = new Date('2026-07-10T12:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface FakeRun extends LatestRun {
  input?: LifecycleInput;
  result?: unknown;
}

class FakeTemporal implements LifecycleStarter {
  readonly runs = new Map<string, FakeRun[]>();
  readonly calls: string[] = [];
  readonly starts: LifecycleStart[] = [];
  private next = 0;

  /** A run that already happened (or still runs) under the workflow id. */
  seed(workflowId: string, run: FakeRun): void {
    this.runs.set(workflowId, [...(this.runs.get(workflowId) ?? []), run]);
  }

  async describe(workflowId: string): Promise<LatestRun | undefined> {
    this.calls.push(`describe ${workflowId}`);
    await Promise.resolve();
    const latest = this.runs.get(workflowId)?.at(-1);
    return latest && { runId: latest.runId, status: latest.status, ...(latest.closeTime ? { closeTime: latest.closeTime } : {}) };
  }

  async result(workflowId: string, runId: string): Promise<unknown> {
    this.calls.push(`result ${workflowId} ${runId}`);
    await Promise.resolve();
    const run = this.runs.get(workflowId)?.find((r) => r.runId === runId);
    if (!run || run.status === 'RUNNING') throw new Error(`result of ${runId}: not closed`);
    return run.result;
  }

  async signalWithStart(start: LifecycleStart): Promise<string> {
    this.calls.push(`signalWithStart ${start.workflowId}`);
    this.starts.push(start);
    await Promise.resolve();
    const latest = this.runs.get(start.workflowId)?.at(-1);
    if (latest?.status === 'RUNNING') return latest.runId;
    const run: FakeRun = { runId: `run-${++this.next}`, status: 'RUNNING', input: start.input };
    this.seed(start.workflowId, run);
    return run.runId;
  }
}

const observation = (over: Partial<DriftObservation> = {}): DriftObservation =>
  DriftObservationSchema.parse({
    unit: 'checkout-api-prod',
    resourceRef: 'apps/Deployment/checkout/api',
    resourceType: 'apps/Deployment',
    relationship: 'desired!=actual',
    changeType: 'modified',
    changedFields: ['/spec/template/spec/containers/0/image'],
    diff: [{ path: '/spec/template/spec/containers/0/image', kind: 'changed' }],
    detectedAt: NOW.toISOString(),
    detector: 'local-planes',
    ...over,
  });

const idOf = (o: DriftObservation) => workflowIdOf(findingIdOf(o));

/** A lifecycle run that completed with this outcome `ago` ms before NOW. */
const closed = (runId: string, outcome: string, ago: number, status = 'COMPLETED'): FakeRun => ({
  runId,
  status,
  closeTime: new Date(NOW.getTime() - ago),
  result: { findingId: 'x', stage: 'closed', outcome, escalations: 0, detections: 1, timeline: [] },
});

function scan(fake: FakeTemporal, registryDir?: string) {
  return createScanActivities({
    planes: {} as LocalPlanes,
    client: {} as Client,
    taskQueue: 'q',
    clock: () => NOW,
    lifecycles: fake,
    ...(registryDir ? { registryDir } : {}),
  });
}

/** The acme example registry, with checkout-web-prod's reopen window set to 1h. */
function registryWithShortWindow(): string {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'dp-reopen-')), 'acme');
  cpSync(path.join(__dirname, '..', '..', 'registry', 'examples', 'acme'), dir, { recursive: true });
  const file = path.join(dir, 'units', 'apps-checkout.yaml');
  const text = readFileSync(file, 'utf8');
  const anchor = '  name: checkout-web-prod\n';
  const policies = '    requireIncidentForManualChange: true\n';
  const at = text.indexOf(policies, text.indexOf(anchor));
  if (text.indexOf(anchor) < 0 || at < 0) throw new Error('the acme example no longer has checkout-web-prod with these policies');
  writeFileSync(file, `${text.slice(0, at)}${policies}    reconcile:\n      reopenWindow: 1h\n${text.slice(at + policies.length)}`);
  return dir;
}

describe('openLifecycles: reopen on regression', () => {
  it('a finding closed RECONCILED within the window reopens: previous in the input, regression on the observation', async () => {
    const fake = new FakeTemporal();
    const o = observation();
    fake.seed(idOf(o), closed('run-old', 'RECONCILED', 2 * DAY));

    const [opened] = await scan(fake).openLifecycles({ observations: [o] });

    const closedAt = new Date(NOW.getTime() - 2 * DAY).toISOString();
    expect(opened).toMatchObject({ workflowId: idOf(o), runId: 'run-1', reopened: { previousRunId: 'run-old' } });
    const input = fake.starts[0]?.input;
    expect(input?.previous).toEqual({ workflowId: idOf(o), runId: 'run-old', outcome: 'RECONCILED', closedAt });
    expect(input?.observation.regression).toEqual({ previousRunId: 'run-old', previousOutcome: 'RECONCILED', closedAt });
    // The observation stays valid and keeps its fingerprint: the same finding, the same workflow id.
    expect(DriftObservationSchema.safeParse(input?.observation).success).toBe(true);
    expect(fingerprintOf(input!.observation)).toBe(fingerprintOf(o));
    expect(input?.findingId).toBe(findingIdOf(o));
    // Describe first, the result only for the completed run, and signal-with-start as the only start.
    expect(fake.calls).toEqual([`describe ${idOf(o)}`, `result ${idOf(o)} run-old`, `signalWithStart ${idOf(o)}`]);
  });

  it('closed RECONCILED outside the window (default 7d): a plain new run, and the result is never fetched', async () => {
    const fake = new FakeTemporal();
    const o = observation();
    fake.seed(idOf(o), closed('run-old', 'RECONCILED', 7 * DAY + 1));

    const [opened] = await scan(fake).openLifecycles({ observations: [o] });

    expect(opened?.reopened).toBeUndefined();
    expect(fake.starts[0]?.input.previous).toBeUndefined();
    expect(fake.starts[0]?.input.observation.regression).toBeUndefined();
    expect(fake.calls.some((c) => c.startsWith('result'))).toBe(false);
  });

  it.each([
    ['REJECTED', 'COMPLETED'],
    ['EXPIRED', 'COMPLETED'],
    ['UNVERIFIED', 'COMPLETED'],
    ['RECONCILED', 'TERMINATED'],
    ['RECONCILED', 'FAILED'],
  ])('closed %s (%s) within the window: a plain new run, no link', async (outcome, status) => {
    const fake = new FakeTemporal();
    const o = observation();
    fake.seed(idOf(o), closed('run-old', outcome, HOUR, status));

    const [opened] = await scan(fake).openLifecycles({ observations: [o] });

    expect(opened).toMatchObject({ runId: 'run-1' });
    expect(opened?.reopened).toBeUndefined();
    expect(fake.starts[0]?.input.previous).toBeUndefined();
    expect(fake.starts[0]?.input.observation.regression).toBeUndefined();
    // Only a completed run has a result worth reading.
    expect(fake.calls.some((c) => c.startsWith('result'))).toBe(status === 'COMPLETED');
  });

  it('a running lifecycle is joined as before: same run, no link, no result read', async () => {
    const fake = new FakeTemporal();
    const o = observation();
    fake.seed(idOf(o), closed('run-older', 'RECONCILED', DAY));
    fake.seed(idOf(o), { runId: 'run-live', status: 'RUNNING' });

    const [opened] = await scan(fake).openLifecycles({ observations: [o] });

    expect(opened).toEqual({ findingId: findingIdOf(o), workflowId: idOf(o), runId: 'run-live', resourceRef: o.resourceRef });
    expect(fake.runs.get(idOf(o))).toHaveLength(2);
    expect(fake.starts[0]?.input.previous).toBeUndefined();
    expect(fake.calls.some((c) => c.startsWith('result'))).toBe(false);
  });

  it('a finding never seen before (describe: not found) starts a plain run', async () => {
    const fake = new FakeTemporal();
    const [opened] = await scan(fake).openLifecycles({ observations: [observation()] });
    expect(opened).toMatchObject({ runId: 'run-1' });
    expect(opened?.reopened).toBeUndefined();
    expect(fake.starts[0]?.input.previous).toBeUndefined();
  });

  it("a detector's own regression claim is dropped: only the scan says what a detection reopens", async () => {
    const fake = new FakeTemporal();
    const claimed = observation({ regression: { previousRunId: 'forged', previousOutcome: 'RECONCILED', closedAt: NOW.toISOString() } });
    await scan(fake).openLifecycles({ observations: [claimed] });
    expect(fake.starts[0]?.input.observation.regression).toBeUndefined();
    expect(fake.starts[0]?.input.previous).toBeUndefined();
  });

  it("reads the unit's policies.reconcile.reopenWindow from the registry; units without one keep 7d", async () => {
    const registryDir = registryWithShortWindow();
    const fake = new FakeTemporal();
    const short = observation({ unit: 'checkout-web-prod', resourceRef: 'apps/Deployment/checkout/web' });
    const recent = observation({ unit: 'checkout-web-prod', resourceRef: 'apps/Service/checkout/web' });
    const dflt = observation({ unit: 'checkout-api-prod' });
    fake.seed(idOf(short), closed('run-short', 'RECONCILED', 2 * HOUR)); // outside 1h
    fake.seed(idOf(recent), closed('run-recent', 'RECONCILED', 30 * 60_000)); // inside 1h
    fake.seed(idOf(dflt), closed('run-dflt', 'RECONCILED', 2 * HOUR)); // inside 7d

    const opened = await scan(fake, registryDir).openLifecycles({ observations: [short, recent, dflt] });

    expect(opened.map((x) => x.reopened?.previousRunId)).toEqual([undefined, 'run-recent', 'run-dflt']);
    // The scan's blast radius is still recorded on each observation, reopened or not.
    expect(fake.starts.map((s) => s.input.observation.scanDrifted)).toEqual([3, 3, 3]);
  });

  it('an invalid registry fails the call (retryable) only when a closed RECONCILED run needs its window', async () => {
    const fake = new FakeTemporal();
    const broken = mkdtempSync(path.join(tmpdir(), 'dp-broken-'));
    writeFileSync(path.join(broken, 'units.yaml'), 'apiVersion: driftplane.io/v1alpha1\nkind: DriftManagedUnit\nmetadata: {}\n');
    await expect(scan(fake, broken).openLifecycles({ observations: [observation()] })).resolves.toHaveLength(1);
    const o = observation({ resourceRef: 'apps/Deployment/checkout/other' });
    fake.seed(idOf(o), closed('run-old', 'RECONCILED', HOUR));
    await expect(scan(fake, broken).openLifecycles({ observations: [o] })).rejects.toThrow(/registry .* is invalid/);
  });

  it('two scans racing on the same closed finding open one run: signal-with-start is the single start call', async () => {
    const fake = new FakeTemporal();
    const o = observation();
    fake.seed(idOf(o), closed('run-old', 'RECONCILED', HOUR));

    const [a, b] = await Promise.all([scan(fake).openLifecycles({ observations: [o] }), scan(fake).openLifecycles({ observations: [o] })]);

    expect(a?.[0]?.runId).toBe(b?.[0]?.runId);
    expect(fake.runs.get(idOf(o))?.filter((r) => r.status === 'RUNNING')).toHaveLength(1);
    expect(fake.runs.get(idOf(o))?.at(-1)?.input?.previous?.runId).toBe('run-old');
  });
});

describe('reopenableRun', () => {
  const fake = new FakeTemporal();
  fake.seed('finding:u:1', closed('r1', 'RECONCILED', 7 * DAY));
  const week = async () => 7 * DAY;

  it('the window is inclusive at its edge, and a close stamped after our clock (skew) is inside it', async () => {
    expect(await reopenableRun(fake, 'finding:u:1', NOW, week)).toMatchObject({ runId: 'r1', outcome: 'RECONCILED' });
    fake.seed('finding:u:2', closed('r2', 'RECONCILED', -5_000));
    expect(await reopenableRun(fake, 'finding:u:2', NOW, week)).toMatchObject({ runId: 'r2' });
  });

  it('reads the window only for a completed run', async () => {
    let asked = 0;
    const counting = async () => {
      asked++;
      return 7 * DAY;
    };
    fake.seed('finding:u:3', { runId: 'r3', status: 'RUNNING' });
    expect(await reopenableRun(fake, 'finding:u:3', NOW, counting)).toBeUndefined();
    expect(await reopenableRun(fake, 'finding:u:none', NOW, counting)).toBeUndefined();
    expect(asked).toBe(0);
  });
});

describe('temporalLifecycleStarter', () => {
  it('describe: a workflow id Temporal does not know is undefined; other errors propagate', async () => {
    const clientFailingWith = (err: Error) =>
      ({ workflow: { getHandle: () => ({ describe: () => Promise.reject(err) }) } }) as unknown as Client;
    const missing = temporalLifecycleStarter(clientFailingWith(new WorkflowNotFoundError('gone', 'finding:x', undefined)), 'q');
    await expect(missing.describe('finding:x')).resolves.toBeUndefined();
    const down = temporalLifecycleStarter(clientFailingWith(new Error('unavailable')), 'q');
    await expect(down.describe('finding:x')).rejects.toThrow('unavailable');
  });

  it('describe maps a closed execution to its run id, status name and close time', async () => {
    const closeTime = new Date(NOW.getTime() - HOUR);
    const client = {
      workflow: { getHandle: (id: string) => ({ describe: async () => ({ workflowId: id, runId: 'r9', status: { name: 'COMPLETED' }, closeTime }) }) },
    } as unknown as Client;
    expect(await temporalLifecycleStarter(client, 'q').describe('finding:x')).toEqual({ runId: 'r9', status: 'COMPLETED', closeTime });
  });
});

describe('driftplane show: the chain of reopened runs', () => {
  const wf = 'finding:checkout-api-prod:abc';
  const link = (runId: string, closedAt: string) => ({ workflowId: wf, runId, outcome: 'RECONCILED', closedAt });
  // run-3 reopens run-2, which continued as new from run-2a (its link is in run-2a's input), which reopens run-1.
  const inputs: Record<string, { input?: Partial<LifecycleInput>; firstRunId?: string }> = {
    'run-3': { input: { previous: link('run-2', '2026-07-09T00:00:00.000Z') }, firstRunId: 'run-3' },
    'run-2': { input: {}, firstRunId: 'run-2a' },
    'run-2a': { input: { previous: link('run-1', '2026-07-05T00:00:00.000Z') }, firstRunId: 'run-2a' },
    'run-1': { input: {}, firstRunId: 'run-1' },
  };
  const reads: string[] = [];
  const reader = async (_w: string, runId: string) => {
    reads.push(runId);
    return inputs[runId];
  };

  it('walks back through each run input, newest first, following a continued run to its first run', async () => {
    expect(await readReopenChain(reader, wf, 'run-3')).toEqual([link('run-2', '2026-07-09T00:00:00.000Z'), link('run-1', '2026-07-05T00:00:00.000Z')]);
    // With the current run's link already known (the state carries it), its input is not read.
    reads.length = 0;
    await readReopenChain(reader, wf, 'run-3', { previous: link('run-2', '2026-07-09T00:00:00.000Z') });
    expect(reads).not.toContain('run-3');
    // A plain run has no chain; a run past retention (unknown) ends it; a loop ends it.
    expect(await readReopenChain(reader, wf, 'run-1')).toEqual([]);
    expect(await readReopenChain(async () => undefined, wf, 'run-x')).toEqual([]);
    const loop = async (_w: string, runId: string) => ({ input: { previous: link(runId === 'a' ? 'b' : 'a', NOW.toISOString()) } });
    expect((await readReopenChain(loop, wf, 'a')).map((p) => p.runId)).toEqual(['b']);
  });

  it('prints one "reopened from run" line per link, made visible', async () => {
    const s = { findingId: 'checkout-api-prod:abc', stage: 'detect', observation: observation(), escalations: 0, detections: 1, timeline: [] } as const;
    const text = renderLifecycle({ ...s, timeline: [] }, 'RUNNING', [link('run-2\u001b[2J', '2026-07-09T00:00:00.000Z'), link('run-1', '2026-07-05T00:00:00.000Z')]);
    const lines = text.split('\n').filter((l) => l.startsWith('reopened'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^reopened +from run run-2\S*\[2J \(RECONCILED at 2026-07-09T00:00:00.000Z\)$/);
    expect(text).not.toContain('\u001b');
    expect(lines[1]).toMatch(/from run run-1 \(RECONCILED at 2026-07-05/);
    expect(renderLifecycle({ ...s, timeline: [] }, 'RUNNING')).not.toMatch(/^reopened/m);
  });
});
