import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConsoleNotifier } from '../../activities/notify/console-notifier';
import { approve } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import type { Config } from '../../workers/config';
import { createDriftplaneWorker, workflowsPath, type DriftplaneWorker } from '../../workers/create-worker';
import { TRACING_WORKFLOW_MODULES, tracingFor } from '../../workers/telemetry';
import { signedAnswer } from '../support/approver-keys';
import { awaitingApproval, quietTemporalLogs, testConfig, waitForState } from '../support/lifecycle-harness';

/** One span as OTLP/HTTP JSON carries it. */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: { stringValue?: string } }[];
}

/** A collector on loopback: every span POSTed to /v1/traces, and the service names that sent them. */
function startCollector(): Promise<{
  url: string;
  spans: OtlpSpan[];
  services: Set<string>;
  close(): Promise<void>;
}> {
  const spans: OtlpSpan[] = [];
  const services = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (
        req.method === 'POST' &&
        req.url === '/v1/traces' &&
        String(req.headers['content-type']).startsWith('application/json')
      ) {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: {
            resource?: { attributes?: OtlpSpan['attributes'] };
            scopeSpans: { spans: OtlpSpan[] }[];
          }[];
        };
        for (const rs of body.resourceSpans) {
          const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
          if (service) services.add(service);
          for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        res.writeHead(404).end();
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}/v1/traces`,
        spans,
        services,
        close: () => new Promise((r) => server.close(() => r())),
      });
    }),
  );
}

const UNIT = 'checkout-web-prod';
const APPROVER = 'maria.lopez@acme.example';

const deployment = (replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'checkout', labels: { app: 'web' } },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/checkout@sha256:4f3c9a1b7e2d' }] },
    },
  },
  status: { replicas, readyReplicas: replicas, conditions: [{ type: 'Available', status: 'True' }] },
});

describe('OpenTelemetry tracing', () => {
  it('is off by default: no endpoint, no interceptors and no exporter', async () => {
    const config = await testConfig('127.0.0.1:1');
    expect(config.telemetry.otlpTracesEndpoint).toBeUndefined();
    expect(tracingFor(config)).toBeUndefined();
  });

  describe('with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
    let collector: Awaited<ReturnType<typeof startCollector>>;
    let env: TestWorkflowEnvironment;
    let config: Config;
    let worker: DriftplaneWorker;
    let running: Promise<void>;
    beforeAll(async () => {
      await quietTemporalLogs();
      collector = await startCollector();
      env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
      config = await testConfig(env.address, {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url.replace(/\/v1\/traces$/, ''),
        OTEL_SERVICE_NAME: 'driftplane-trace-test',
      });
      expect(config.telemetry.otlpTracesEndpoint).toBe(collector.url);
      // A prebuilt bundle holds the workflow interceptors only when built with them (as production's must be for tracing).
      const bundle = await bundleWorkflowCode({
        workflowsPath,
        workflowInterceptorModules: [...TRACING_WORKFLOW_MODULES],
        logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
      });
      worker = await createDriftplaneWorker(config, {
        source: { workflowBundle: bundle },
        connection: env.nativeConnection,
        notifier: new ConsoleNotifier(undefined),
      });
      running = worker.worker.run();
    });
    afterAll(async () => {
      worker?.worker.shutdown();
      await running;
      await worker?.close();
      await env?.teardown();
      await collector?.close();
    });

    it("one lifecycle's spans reach the collector: the workflow's, its activities' scheduling and their runs, parented across the worker", async () => {
      const dir = path.join(config.planesDir, UNIT);
      for (const [plane, replicas] of [
        ['desired', 2],
        ['actual', 5],
      ] as const) {
        await mkdir(path.join(dir, plane), { recursive: true });
        await writeFile(
          path.join(dir, plane, 'deployment-web.json'),
          JSON.stringify(deployment(replicas), null, 2),
        );
      }
      await writeFile(path.join(dir, 'audit.jsonl'), '');
      const scan = (await env.client.workflow.execute('unitScan', {
        workflowId: `scan:${UNIT}:traces:${Date.now()}`,
        taskQueue: config.taskQueue,
        args: [{ unit: UNIT }],
      })) as UnitScanResult;
      expect(scan.status).toBe('drift');
      if (scan.status !== 'drift') return;
      const [f] = scan.findings;
      if (!f) throw new Error('no finding');
      const s = await waitForState(
        env.client,
        f.workflowId,
        (x) => awaitingApproval(x) || x.stage === 'closed',
        60_000,
      );
      if (s.stage !== 'closed')
        await env.client.workflow
          .getHandle(f.workflowId)
          .executeUpdate(approve, {
            args: [await signedAnswer(f.findingId, 'approved', { approver: APPROVER, reason: 'revert' })],
          });
      await waitForState(env.client, f.workflowId, (x) => x.stage === 'closed', 60_000);

      // The batch processor exports every second; wait for the lifecycle's own run span.
      const deadline = Date.now() + 20_000;
      while (!collector.spans.some((sp) => sp.name === 'RunWorkflow:driftLifecycle') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 250));
      const names = new Set(collector.spans.map((sp) => sp.name));
      expect(collector.services).toEqual(new Set(['driftplane-trace-test']));
      for (const name of [
        'RunWorkflow:unitScan',
        'RunWorkflow:driftLifecycle',
        'StartActivity:classifyFinding',
        'RunActivity:classifyFinding',
        'RunActivity:detectUnit',
      ]) {
        expect(names.has(name), `${name} in ${[...names].sort().join(', ')}`).toBe(true);
      }
      // The activity's run is a child of the workflow's scheduling of it: the context crossed the task queue.
      const start = collector.spans.find((sp) => sp.name === 'StartActivity:classifyFinding');
      const run = collector.spans.find((sp) => sp.name === 'RunActivity:classifyFinding');
      expect(run?.traceId).toBe(start?.traceId);
      expect(run?.parentSpanId).toBe(start?.spanId);
      const lifecycle = collector.spans.find((sp) => sp.name === 'RunWorkflow:driftLifecycle');
      expect(lifecycle?.traceId).toBe(start?.traceId);
    });
  });
});
