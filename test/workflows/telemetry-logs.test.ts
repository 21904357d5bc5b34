import { Runtime } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { freePort } from '../../cli/free-port';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { approve } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { loadConfig } from '../../workers/config';
import { installRuntime, type InstalledRuntime } from '../../workers/telemetry';
import { signedAnswer } from '../support/approver-keys';
import { awaitingApproval, useDevServerWorker, waitForState } from '../support/lifecycle-harness';
import { allPanels, metricNamesIn, readDashboard } from '../support/grafana-dashboard';
import { parsePrometheusText } from '../support/prometheus-text';

// The Runtime of this test file's process (vitest forks one per file): installed in the first
// beforeAll, before the harness's (registered after it), whose quiet install then finds it
// installed and creates the worker's connection on it. Every line goes to `lines`.
const lines: string[] = [];
let metricsAddress = '';
let runtime: InstalledRuntime;
beforeAll(async () => {
  metricsAddress = `127.0.0.1:${await freePort()}`;
  runtime = installRuntime(
    loadConfig({ DRIFTPLANE_WORKER_METRICS_ADDRESS: metricsAddress, DRIFTPLANE_LOG_LEVEL: 'debug' }),
    {
      stream: { write: (s: string) => void lines.push(s) },
    },
  );
});

const UNIT = 'checkout-web-prod';
const APPROVER = 'maria.lopez@acme.example';
const alnum = (n: number): string =>
  randomBytes(n * 2)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, n);
const PLANTED = `dbpw${alnum(24)}`;

const t = useDevServerWorker();

const deployment = (withSecret: boolean) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'checkout', labels: { app: 'web' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'ghcr.io/acme/checkout@sha256:4f3c9a1b7e2d',
            env: [
              { name: 'LOG_LEVEL', value: 'info' },
              ...(withSecret ? [{ name: 'DB_PASSWORD', value: PLANTED }] : []),
            ],
          },
        ],
      },
    },
  },
  status: { replicas: 2, readyReplicas: 2, conditions: [{ type: 'Available', status: 'True' }] },
});

async function writePlanes(): Promise<void> {
  const dir = path.join(t.config.planesDir, UNIT);
  for (const [plane, withSecret] of [
    ['desired', false],
    ['actual', true],
  ] as const) {
    await mkdir(path.join(dir, plane), { recursive: true });
    await writeFile(
      path.join(dir, plane, 'deployment-web.json'),
      JSON.stringify(deployment(withSecret), null, 2),
    );
  }
  await writeFile(path.join(dir, 'audit.jsonl'), '');
}

/** Every captured line, parsed (a line that is not JSON fails the test). */
function parsedLines(): Record<string, unknown>[] {
  return lines.map((l, i) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw new Error(`log line ${i} is not JSON (${l.length} characters)`);
    }
  });
}

const flushLogs = () => new Promise((r) => setTimeout(r, 500)); // the runtime's log collector buffers ~100 ms

describe('worker logs: JSON lines, a finding id on every lifecycle line, no secret', () => {
  it('one real lifecycle with a DB_PASSWORD in its drift: every line about it carries findingId; the value is in none', async () => {
    await writePlanes();
    const scan = (await t.env.client.workflow.execute('unitScan', {
      workflowId: `scan:${UNIT}:telemetry:${Date.now()}`,
      taskQueue: t.config.taskQueue,
      args: [{ unit: UNIT }],
    })) as UnitScanResult;
    expect(scan.status).toBe('drift');
    if (scan.status !== 'drift') return;
    const [f] = scan.findings;
    expect(f?.workflowId.startsWith('finding:')).toBe(true);
    if (!f) return;
    const s = await waitForState(
      t.env.client,
      f.workflowId,
      (x) => awaitingApproval(x) || x.stage === 'closed',
      60_000,
    );
    expect(s.observation.changedFields).toContain('/spec/template/spec/containers/0/env/1');
    if (s.stage !== 'closed') {
      await t.env.client.workflow
        .getHandle(f.workflowId)
        .executeUpdate(approve, {
          args: [
            await signedAnswer(f.findingId, 'approved', { approver: APPROVER, reason: 'revert to Git' }),
          ],
        });
    }
    await waitForState(t.env.client, f.workflowId, (x) => x.stage === 'closed', 60_000);

    // A log call with a secret in its text and in a credential field, through the Runtime's logger
    // as an activity's would go: both are replaced, the finding id is added.
    Runtime.instance().logger.warn(`retrying with DB_PASSWORD=${PLANTED}`, {
      workflowId: f.workflowId,
      workflowType: 'driftLifecycle',
      authorization: `Bearer ${PLANTED}`,
    });
    await flushLogs();

    const all = parsedLines();
    const lifecycle = all.filter(
      (l) =>
        l.workflowType === 'driftLifecycle' ||
        (typeof l.workflowId === 'string' && l.workflowId.startsWith('finding:')),
    );
    // Not vacuous: the workflow's and its activities' lines were captured (debug: "Workflow started", "Activity completed").
    expect(lifecycle.length).toBeGreaterThan(5);
    expect(
      lifecycle.some((l) => l.activityType !== undefined),
      'activity lines',
    ).toBe(true);
    expect(
      lifecycle.some((l) => l.activityType === undefined && l.msg === 'Workflow started'),
      'workflow lines',
    ).toBe(true);
    const without = lifecycle
      .filter((l) => l.findingId !== l.workflowId)
      .map((l) => `${String(l.msg)} (${String(l.workflowId)})`);
    expect(without).toEqual([]);
    expect(all.every((l) => typeof l.level === 'string' && typeof l.time === 'string')).toBe(true);

    const planted = all.find(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('retrying with DB_PASSWORD='),
    );
    expect(planted, 'the planted log line was written').toBeDefined();
    expect(planted?.findingId).toBe(f.workflowId);
    expect(planted?.authorization).toBe('[REDACTED]');
    // Assert on positions, never print the value.
    expect(lines.map((l, i) => (l.includes(PLANTED) ? i : -1)).filter((i) => i >= 0)).toEqual([]);
  });

  it('a hotfix window line carries windowId; an error logged with a credential in its message is scrubbed', async () => {
    const before = lines.length;
    const token = `ghp_${alnum(36)}`;
    Runtime.instance().logger.info('window extended', { workflowId: 'hotfix:checkout-web-prod:INC-7', workflowType: 'hotfixWindow' });
    Runtime.instance().logger.error('push failed', { workflowId: 'finding:checkout-web-prod:abc', error: new Error(`remote rejected https://x-access-token:${token}@github.com/acme/app`) });
    await flushLogs();
    const added = parsedLines().slice(before);
    expect(added.find((l) => l.msg === 'window extended')).toMatchObject({ windowId: 'hotfix:checkout-web-prod:INC-7', level: 'info' });
    const failed = added.find((l) => l.msg === 'push failed') as { findingId?: string; error?: { type?: string; message?: string } } | undefined;
    expect(failed?.findingId).toBe('finding:checkout-web-prod:abc');
    expect(failed?.error?.type).toBe('Error');
    expect(failed?.error?.message).toContain('https://[REDACTED]@github.com/acme/app');
    expect(lines.slice(before).some((l) => l.includes(token))).toBe(false);
  });

  it("serves Temporal's own worker metrics for Prometheus on the configured address", async () => {
    expect(runtime.metricsUrl).toBe(`http://${metricsAddress}/metrics`);
    const res = await fetch(runtime.metricsUrl as string);
    expect(res.status).toBe(200);
    const families = parsePrometheusText(await res.text());
    // The lifecycle and scan above completed on this worker's task queue.
    const completed = families.get('temporal_workflow_completed');
    expect(completed, [...families.keys()].join(', ')).toBeDefined();
    const onQueue = (completed?.metrics ?? []).filter((m) => m.labels?.task_queue === t.config.taskQueue);
    expect(onQueue.reduce((n, m) => n + Number(m.value), 0)).toBeGreaterThanOrEqual(2);
    // Every Temporal metric the Grafana dashboard queries is one this worker exposes.
    const histograms = new Set(
      [...families.values()].filter((f) => f.type === 'HISTOGRAM').map((f) => f.name),
    );
    const queried = allPanels(readDashboard().panels).flatMap((p) =>
      (p.targets ?? []).flatMap((q) => metricNamesIn(q.expr ?? '', histograms)),
    );
    const temporalQueried = [...new Set(queried.filter((n) => n.startsWith('temporal_')))];
    expect(temporalQueried.length).toBeGreaterThanOrEqual(4);
    // Core creates a counter at its first increment: no workflow fails here, so that one may be absent.
    const appearsOnFirstFailure = new Set(['temporal_workflow_failed']);
    expect(temporalQueried.filter((n) => !families.has(n) && !appearsOnFirstFailure.has(n))).toEqual([]);
    if (process.env.DRIFTPLANE_TEST_DUMP)
      await writeFile(
        process.env.DRIFTPLANE_TEST_DUMP,
        `${[...families.keys()].join('\n')}\n---\n${lines.join('')}`,
      );
  });
});
