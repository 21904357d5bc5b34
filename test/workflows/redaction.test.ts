import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ConsoleNotifier } from '../../activities/notify/console-notifier';
import { locateTemporalCli } from '../../cli/local-tools';
import { approve, type LifecycleState } from '../../workflows/messages';
import { signedAnswer } from '../support/approver-keys';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { awaitingApproval, useDevServerWorker, waitForState } from '../support/lifecycle-harness';
import { repoRoot } from '../support/shared-fixtures';

// Everything the worker logs (the Temporal runtime's logger, activity and workflow loggers
// included) is kept, to be searched. Installed before the harness's quiet logger (which then
// finds a runtime already installed), so this file's worker logs into it.
const workerLog: string[] = [];
try {
  Runtime.install({ logger: new DefaultLogger('DEBUG', (e: LogEntry) => workerLog.push(`${e.level} ${e.message} ${safeJson(e.meta)}`)) });
} catch {
  workerLog.push('(runtime was already installed: worker log not captured)');
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x)) ?? '';
  } catch {
    return String(v);
  }
}

const run = promisify(execFile);
const UNIT = 'checkout-web-prod';
const APPROVER = 'maria.lopez@acme.example';
const t = useDevServerWorker();

const alnum = (n: number): string => randomBytes(n * 2).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, n);

/** The planted secrets, each with a name for reports: a failure lists where a name was found, never a value. */
const planted = {
  'env DB_PASSWORD value': `envpw${alnum(20)}`,
  'postgres URL password in an arg': `urlpw${alnum(20)}`,
  'GitHub token in an annotation': `ghp_${alnum(36)}`,
  'Secret data (desired)': `secd${alnum(20)}`,
  'Secret data (actual)': `seca${alnum(20)}`,
};
type PlantName = keyof typeof planted;
const b64 = (s: string): string => Buffer.from(s).toString('base64');
/** Every form a planted value could take in an output: itself, and base64 for Secret data. */
const forms = (name: PlantName): string[] => (name.startsWith('Secret data') ? [planted[name], b64(planted[name])] : [planted[name]]);

function placesFound(where: string, text: string): string[] {
  return (Object.keys(planted) as PlantName[]).filter((n) => forms(n).some((f) => text.includes(f))).map((n) => `${where}: ${n}`);
}

const deployment = (extra: boolean) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'checkout',
    labels: { app: 'web' },
    ...(extra ? { annotations: { 'acme.example/ci-note': `deployed with ${planted['GitHub token in an annotation']}` } } : {}),
  },
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
            args: ['serve', ...(extra ? [`--db-url=postgres://app:${planted['postgres URL password in an arg']}@db.checkout:5432/app`] : [])],
            env: [{ name: 'LOG_LEVEL', value: 'info' }, ...(extra ? [{ name: 'DB_PASSWORD', value: planted['env DB_PASSWORD value'] }] : [])],
          },
        ],
      },
    },
  },
  status: { replicas: 2, readyReplicas: 2, conditions: [{ type: 'Available', status: 'True' }] },
});

const secret = (value: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'checkout' }, type: 'Opaque', data: { password: b64(value) } });

async function writePlanes(): Promise<void> {
  const dir = path.join(t.config.planesDir, UNIT);
  for (const [plane, extra, secretValue] of [
    ['desired', false, planted['Secret data (desired)']],
    ['actual', true, planted['Secret data (actual)']],
  ] as const) {
    await mkdir(path.join(dir, plane), { recursive: true });
    await writeFile(path.join(dir, plane, 'deployment-web.json'), JSON.stringify(deployment(extra), null, 2));
    await writeFile(path.join(dir, plane, 'secret-db.json'), JSON.stringify(secret(secretValue), null, 2));
  }
  await writeFile(path.join(dir, 'audit.jsonl'), '');
}

/** Reads every file under a folder, keyed by its path relative to the folder. */
async function filesUnder(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    out[path.relative(dir, file)] = await readFile(file, 'utf8');
  }
  return out;
}

/** A history as text, with every payload decoded (JSON payloads are bytes in the protobuf objects). */
function historyText(history: unknown): string {
  const parts: string[] = [];
  const visit = (v: unknown): void => {
    if (v instanceof Uint8Array) parts.push(Buffer.from(v).toString('utf8'));
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(visit);
    else if (typeof v === 'string') parts.push(v);
  };
  visit(history);
  return parts.join('\n');
}

/** The CLI's JSON history: payloads may be printed as base64 `data`; decode every base64-looking string too. */
function decodedCliJson(text: string): string {
  const extra: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(visit);
    else if (typeof v === 'string' && v.length >= 16 && /^[A-Za-z0-9+/]+={0,2}$/.test(v)) extra.push(Buffer.from(v, 'base64').toString('utf8'));
  };
  visit(JSON.parse(text));
  return `${text}\n${extra.join('\n')}`;
}

const console$: string[] = [];
const origOut = process.stdout.write.bind(process.stdout);
const origErr = process.stderr.write.bind(process.stderr);
beforeAll(() => {
  const tee = (orig: typeof process.stdout.write) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      console$.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return (orig as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
  process.stdout.write = tee(origOut);
  process.stderr.write = tee(origErr);
});
afterAll(() => {
  process.stdout.write = origOut;
  process.stderr.write = origErr;
});

describe('secrets in a drift never reach history, evidence, the CLI or logs', () => {
  it('a drift with planted secrets goes through unitScan → driftLifecycle; none of them is found anywhere', async () => {
    await writePlanes();
    // Not vacuous: the planted values are in the planes the detector reads.
    const planes = Object.values(await filesUnder(path.join(t.config.planesDir, UNIT))).join('\n');
    expect(placesFound('planes', planes)).toHaveLength(Object.keys(planted).length);

    const scanId = `scan:${UNIT}:redaction:${Date.now()}`;
    const scan = (await t.env.client.workflow.execute('unitScan', { workflowId: scanId, taskQueue: t.config.taskQueue, args: [{ unit: UNIT }] })) as UnitScanResult;
    expect(scan.status).toBe('drift');
    if (scan.status !== 'drift') return;
    expect(scan.findings.map((f) => f.resourceRef).sort()).toEqual(['Deployment/checkout/web', 'Secret/checkout/db']);

    // Each lifecycle goes on to a person's approval (or closes), then is approved, reconciled and verified.
    const states: LifecycleState[] = [];
    for (const f of scan.findings) {
      const s = await waitForState(t.env.client, f.workflowId, (x) => awaitingApproval(x) || x.stage === 'closed', 60_000);
      if (s.stage !== 'closed') await t.env.client.workflow.getHandle(f.workflowId).executeUpdate(approve, { args: [await signedAnswer(f.findingId, 'approved', { approver: APPROVER, reason: 'revert to Git, rotate the secrets' })] });
      states.push(await waitForState(t.env.client, f.workflowId, (x) => x.stage === 'closed', 60_000));
    }

    const places: string[] = [];
    // 1. Evidence: every file of every finding's folder.
    for (const [file, text] of Object.entries(await filesUnder(t.config.evidenceDir))) places.push(...placesFound(`evidence ${file}`, text));
    expect(Object.keys(await filesUnder(t.config.evidenceDir)).some((f) => f.endsWith('-detected.json'))).toBe(true);

    // 2. `driftplane show --json`, through the real CLI.
    const cli = path.join(repoRoot, 'bin', 'driftplane.cjs');
    const cliEnv = { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), DRIFTPLANE_TASK_QUEUE: t.config.taskQueue, DRIFTPLANE_HOME: t.config.home };
    for (const f of scan.findings) {
      const shown = await run(process.execPath, [cli, 'show', f.findingId, '--json'], { env: cliEnv, maxBuffer: 1 << 24 }).catch((e: { stdout?: string; stderr?: string }) => e);
      expect(String(shown.stdout ?? '').includes(f.findingId), `show --json ${f.resourceRef} printed the lifecycle`).toBe(true);
      places.push(...placesFound(`show --json ${f.resourceRef}`, `${shown.stdout ?? ''}${shown.stderr ?? ''}`));
    }

    // 3. History: the scan's (the detection result, the lifecycles' start input) and each lifecycle's,
    //    as the Temporal CLI exports it and as the SDK fetches it.
    const temporal = locateTemporalCli();
    for (const id of [scanId, ...scan.findings.map((f) => f.workflowId)]) {
      const exported = await run(temporal, ['workflow', 'show', '--workflow-id', id, '--output', 'json', '--address', inject('temporalAddress'), '--namespace', 'default'], { maxBuffer: 1 << 26 });
      expect(exported.stdout.includes('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED'), `temporal workflow show ${id} exported a history`).toBe(true);
      places.push(...placesFound(`temporal workflow show ${id}`, decodedCliJson(exported.stdout)));
      const fetched = historyText(await t.env.client.workflow.getHandle(id).fetchHistory());
      expect(fetched.includes(UNIT), 'payloads were decoded: the search reads them').toBe(true);
      places.push(...placesFound(`fetchHistory ${id}`, fetched));
    }

    // 4. The worker's log, the process's console output and the notifications sent.
    expect(workerLog.length).toBeGreaterThan(0);
    places.push(...placesFound('worker log', workerLog.join('\n')));
    places.push(...placesFound('console', console$.join('')));
    places.push(...placesFound('notifications', JSON.stringify((t.worker.notifier as ConsoleNotifier).sent)));

    // Assert on the places, never print the values.
    expect(places).toEqual([]);

    // The drift is still visible without the values: the changed fields are named, and the
    // Secret's two values have different keyed fingerprints. (Booleans: a failure prints no value.)
    const isFingerprint = (v: unknown) => typeof v === 'string' && /^\[REDACTED hmac:[0-9a-f]{16}\]$/.test(v);
    const secretState = states.find((s) => s.observation.resourceRef === 'Secret/checkout/db')!;
    expect(secretState.observation.changedFields).toEqual(['/data/password']);
    const [change] = secretState.observation.diff;
    expect({ desired: isFingerprint(change?.desired), actual: isFingerprint(change?.actual), differ: change?.desired !== change?.actual }).toEqual({ desired: true, actual: true, differ: true });
    const deploymentState = states.find((s) => s.observation.resourceRef === 'Deployment/checkout/web')!;
    expect(deploymentState.observation.changedFields).toEqual(
      expect.arrayContaining(['/metadata/annotations', '/spec/template/spec/containers/0/args/1', '/spec/template/spec/containers/0/env/1']),
    );
    expect(JSON.stringify(deploymentState.observation.diff).includes('postgres://[REDACTED hmac:'), 'the URL keeps its shape, its userinfo fingerprinted').toBe(true);
  });
});
