// Lifecycle throughput (issue 13 §3): auto-healing findings driven to closed, against a bare
// workflow with as many no-op activities, on the same dev server and worker, in the same run.
//
// Set-up, all in a temporary folder removed at the end:
//   - its own Temporal dev server from .tools/ (cli/dev-server.ts) on a free port, with a SQLite FILE
//     database, driftplane's search attributes registered (cli/temporal.ts ensureSearchAttributes);
//   - one worker process: driftplane's worker (workers/create-worker.ts) with the embedded defaults:
//     PGlite ledger in a folder, evidence in a folder, console notifier (silenced); and, on the same
//     connection with the same concurrency options, a second Worker on its own task queue running
//     bench/bare-lifecycle-workflow.ts;
//   - a fleet of copies of the demo's auto-healing `catalog-web-staging` unit, 5 drifted Deployments
//     each (test/support/fleet.ts, as test/chaos/load.test.ts), fresh units for every round.
//
// Untimed first: one auto-healed lifecycle (catalog-web-staging) and one approved lifecycle
// (checkout-web-prod, answered with a signed approval). Their histories give the events and bytes
// per lifecycle, and the auto-healed one gives K, its number of steps: activities
// (ActivityTaskScheduled) plus local activities (their markers), which the bare workflow then runs,
// all as plain activities. Then, for every N of --n:
//   - N findings: every fleet unit detected first, untimed (detection is the scan's work, not the
//     lifecycle's); then all N lifecycles opened at once through the scan's own `openLifecycles`
//     activity (signal-with-start, one call per unit, all concurrent), timed from the first start
//     until every one has closed (all must close RECONCILED, nobody asked);
//   - N bare workflows of K no-op activities, all started at once, timed until all completed;
//   - findings/s, workflows/s and their ratio (target ≥ 0.85 at N = 200). The same on the server's
//     clock (first start to last close) is shown too.
// Last: the history of a few lifecycles of the largest N (target ≤ 35 events per auto-healed
// lifecycle), and every activity attempt that failed in the run, with its message: the issue
// requires none caused by a store. Attempts of activities are read from every history (retried
// attempts, failed or timed-out activities); attempts of local activities, which history does not
// keep, from the worker's own "Activity failed" warnings (the SDK logs each failed attempt).
//
// Run: npx tsx bench/lifecycle.bench.ts [--n 50,200]   (or `npm run bench lifecycle`)
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type LogEntry } from '@temporalio/worker';
import { mkdtemp, rm } from 'node:fs/promises';
import { freePort } from '../cli/free-port';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ConsoleNotifier } from '../activities/notify/console-notifier';
import type { OpenedLifecycle } from '../activities/scan';
import { ensureDevServer, type DevServer } from '../cli/dev-server';
import { ensureSearchAttributes } from '../cli/temporal';
import { LocalPlanes } from '../activities/local-planes/local-planes';
import { createScanActivities } from '../activities/scan';
import { loadConfig, type Config } from '../workers/config';
import { createDriftplaneWorker, tuningOptions, type DriftplaneWorker } from '../workers/create-worker';
import type { LifecycleState } from '../workflows/messages';
import { answerFinding, keyedAcmeRegistry } from '../test/support/approver-keys';
import { activityFailureOf, failedAttempts, scanOne, type FailedAttempt, type LoggedActivityFailure } from '../test/support/chaos-lifecycle';
import { awaitingApproval, waitForState, workflowBundle } from '../test/support/lifecycle-helpers';
import type { BareActivities } from './bare-lifecycle-workflow';
import { APPROVAL_UNIT, fleetRegistry, fleetUnits, seedFleet, TEMPLATE_UNIT, type FleetUnit } from '../test/support/fleet';

const TARGET_RATIO = 0.85;
/** The N the ratio target applies to. */
const TARGET_N = 200;
const TARGET_EVENTS = 35;
const APPROVER = 'maria.lopez@acme.example';
/** Lifecycle histories of the largest N whose events and bytes are shown. */
const SAMPLE = 5;
/** Client calls made for every workflow after a round (describe, history) run this many at a time. */
const PARALLEL = 25;

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};

/** The N of `--n` (default 50,200); anything but a list of positive integers is refused, naming the flag. */
function roundsArg(): number[] {
  const text = arg('n') ?? '50,200';
  const ns = text.split(',').map((s) => Number(s.trim()));
  if (ns.length === 0 || ns.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--n ${text}: expected a comma-separated list of positive integers, e.g. --n 50,200`);
  return ns;
}

/** Runs `fn` over `items`, PARALLEL at a time, keeping order. */
async function mapLimited<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += PARALLEL) out.push(...(await Promise.all(items.slice(i, i + PARALLEL).map(fn))));
  return out;
}

/** What one workflow's history holds: events, serialized bytes, activities scheduled, local activities, and events by type. */
interface HistoryStats {
  events: number;
  bytes: number;
  activities: number;
  localActivities: number;
  byType: Map<string, number>;
}

async function historyStats(client: Client, workflowId: string): Promise<HistoryStats> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const byType = new Map<string, number>();
  for (const e of events) {
    const type = (temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
    byType.set(type, (byType.get(type) ?? 0) + 1);
  }
  return {
    events: events.length,
    // The size Temporal counts against a history's limits: the protobuf encoding.
    bytes: temporal.api.history.v1.History.encode(history).finish().byteLength,
    activities: byType.get('ACTIVITY_TASK_SCHEDULED') ?? 0,
    localActivities: events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length,
    byType,
  };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function describeHistory(label: string, h: HistoryStats): string {
  const types = [...h.byType.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${t.toLowerCase()} ${n}`)
    .join(', ');
  return `  ${label}: ${h.events} events, ${h.bytes} bytes (${kb(h.bytes)}); ${h.activities} activities, ${h.localActivities} local activities\n    by type: ${types}`;
}

/** Server-clock span of a set of closed workflows: first start to last close. */
async function serverSpanMs(client: Client, workflowIds: string[]): Promise<number> {
  const times = await mapLimited(workflowIds, async (id) => {
    const d = await client.workflow.getHandle(id).describe();
    if (!d.closeTime) throw new Error(`${id} has not closed`);
    return [d.startTime.getTime(), d.closeTime.getTime()] as const;
  });
  return Math.max(...times.map((t) => t[1])) - Math.min(...times.map((t) => t[0]));
}

/**
 * One timed round of lifecycles. Untimed first, each unit is detected as its scan would (the local
 * planes), so detection is not counted; then every unit's drift is opened at once through the scan's
 * own `openLifecycles` activity (signal-with-start, the production start path), timed from the
 * first start until every lifecycle has closed. Each must close RECONCILED without anyone asked.
 */
async function lifecycleRound(client: Client, config: Config, units: FleetUnit[]): Promise<{ ms: number; spanMs: number; findings: OpenedLifecycle[] }> {
  const planes = new LocalPlanes(config.planesDir);
  const detections = await Promise.all(units.map((u) => planes.detect(u.name, new Date())));
  const opener = createScanActivities({ planes, client, taskQueue: config.taskQueue, registryDir: config.registryDir, defaultReopenWindow: 'off' });
  const t0 = performance.now();
  const findings = (
    await Promise.all(
      detections.map((d) => {
        if (d.status !== 'ok' || d.observations.length === 0) throw new Error(`${d.unit}: no drift to heal: ${JSON.stringify(d)}`);
        return opener.openLifecycles({ observations: d.observations });
      }),
    )
  ).flat();
  const states = await Promise.all(findings.map((f) => client.workflow.getHandle(f.workflowId).result() as Promise<LifecycleState>));
  const ms = performance.now() - t0;
  const expected = units.reduce((n, u) => n + u.resources, 0);
  if (findings.length !== expected || new Set(findings.map((f) => f.workflowId)).size !== expected) throw new Error(`expected ${expected} distinct lifecycles, ${findings.length} were opened`);
  const notHealed = states.filter((s) => s.outcome !== 'RECONCILED' || s.answer !== undefined);
  if (notHealed.length > 0) throw new Error(`${notHealed.length} lifecycle(s) did not auto-heal, e.g. ${notHealed[0]!.findingId}: outcome ${notHealed[0]!.outcome}`);
  return { ms, spanMs: await serverSpanMs(client, findings.map((f) => f.workflowId)), findings };
}

/** One timed round of bare workflows: `n` started at once, until all have completed. */
async function bareRound(client: Client, taskQueue: string, n: number, activities: number, tag: string): Promise<{ ms: number; spanMs: number; ids: string[] }> {
  const ids = Array.from({ length: n }, (_, i) => `bare:${tag}:${i}`);
  const t0 = performance.now();
  const handles: WorkflowHandle[] = await Promise.all(ids.map((workflowId) => client.workflow.start('bareLifecycle', { workflowId, taskQueue, args: [{ activities }] })));
  await Promise.all(handles.map((h) => h.result()));
  const ms = performance.now() - t0;
  return { ms, spanMs: await serverSpanMs(client, ids), ids };
}

/** Every attempt the worker logged as failed ("Activity failed": activities and local activities alike). */
const loggedFailures: LoggedActivityFailure[] = [];

/** The process's Temporal Runtime: warnings and errors only, each failed activity attempt kept for the report. */
function installRuntimeLogger(): void {
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry: LogEntry) => {
      if (entry.message === 'Activity failed') {
        loggedFailures.push(activityFailureOf(entry.meta ?? {}));
        return;
      }
      console.error(`${entry.level} ${entry.message}`);
    }),
  });
}

async function main(): Promise<void> {
  const rounds = roundsArg();
  installRuntimeLogger();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'driftplane-lifecycle-bench-'));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(tmp, { recursive: true, force: true })];
  let ok = true;
  try {
    // The fleet: fresh units for every round, so no round re-detects a drift an earlier one healed.
    const plan = rounds.map((n, r) => ({ n, units: fleetUnits(`bench-r${r + 1}-n${n}`, n) }));
    const allUnits = plan.flatMap((p) => p.units);
    const registryDir = await fleetRegistry(allUnits.map((u) => u.name));
    const keyedDir = path.dirname((await keyedAcmeRegistry()).registryDir);
    cleanups.push(
      () => rm(registryDir, { recursive: true, force: true }),
      () => rm(keyedDir, { recursive: true, force: true }),
    );

    const address = `127.0.0.1:${await freePort()}`;
    const serverHome = path.join(tmp, 'temporal');
    const server: DevServer = await ensureDevServer({ address, home: serverHome, dbFile: path.join(serverHome, 'temporal.db'), headless: true, timeoutMs: 60_000 });
    if (!server.started) throw new Error(`something already answers at ${address}: the bench needs a server of its own`);
    cleanups.unshift(() => server.stop());
    const connection = await Connection.connect({ address });
    cleanups.unshift(() => connection.close());
    await ensureSearchAttributes(connection, 'default');
    const client = new Client({ connection });

    const home = path.join(tmp, 'home');
    const config = loadConfig({
      TEMPORAL_ADDRESS: address,
      DRIFTPLANE_HOME: home,
      DRIFTPLANE_TASK_QUEUE: 'bench-lifecycle',
      DRIFTPLANE_REGISTRY: registryDir,
      DRIFTPLANE_VERIFY_INTERVAL: '1s',
      DRIFTPLANE_REOPEN_WINDOW: 'off',
      // The embedded default: PGlite in a folder, as a laptop or a single-node install runs it.
      DRIFTPLANE_LEDGER_URL: `pglite:${path.join(home, 'ledger')}`,
    });
    await seedFleet(config.planesDir, allUnits, new Date());

    const nativeConnection = await NativeConnection.connect({ address });
    cleanups.unshift(() => nativeConnection.close());
    const dp: DriftplaneWorker = await createDriftplaneWorker(config, {
      source: { workflowBundle: await workflowBundle() },
      // Kept in memory, not written: 2 × N notifications would bury the figures.
      notifier: new ConsoleNotifier({ write: () => true }),
      connection: nativeConnection,
    });
    const bareQueue = `${config.taskQueue}-bare`;
    const noop: BareActivities = { noop: async () => undefined };
    const bare = await Worker.create({
      connection: nativeConnection,
      namespace: config.namespace,
      taskQueue: bareQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'bare-lifecycle-workflow.ts'), logger: quietLogger }),
      activities: noop,
      ...tuningOptions(config),
    });
    const running = Promise.all([dp.run(), bare.run()]);
    cleanups.unshift(async () => {
      dp.shutdown();
      bare.shutdown();
      await running;
      await dp.close();
    });

    // Untimed: one lifecycle of each kind, whose histories give the per-lifecycle figures and K.
    const healed = await scanOne(client, config.taskQueue, TEMPLATE_UNIT);
    const healedState = (await client.workflow.getHandle(healed.workflowId).result()) as LifecycleState;
    if (healedState.outcome !== 'RECONCILED' || healedState.answer !== undefined) throw new Error(`${TEMPLATE_UNIT} did not auto-heal: outcome ${healedState.outcome}`);
    const healedHistory = await historyStats(client, healed.workflowId);
    const approved = await scanOne(client, config.taskQueue, APPROVAL_UNIT);
    await waitForState(client, approved.workflowId, awaitingApproval, 60_000);
    await answerFinding(client, approved.findingId, 'approve', { approver: APPROVER, reason: 'bench: revert to the digest in Git' });
    const approvedState = (await client.workflow.getHandle(approved.workflowId).result()) as LifecycleState;
    if (approvedState.outcome !== 'RECONCILED') throw new Error(`${APPROVAL_UNIT} closed ${approvedState.outcome} after approval`);
    const approvedHistory = await historyStats(client, approved.workflowId);
    // Steps: activities plus local activities; the bare workflow runs as many plain activities.
    const K = healedHistory.activities + healedHistory.localActivities;
    const warm = await bareRound(client, bareQueue, 5, K, 'warm-up');
    const bareHistory = await historyStats(client, warm.ids[0]!);

    console.log(`lifecycle throughput: Temporal dev server (SQLite file), one worker process (PGlite ledger in a folder, evidence in a folder)`);
    console.log(describeHistory(`auto-healed lifecycle (${TEMPLATE_UNIT})`, healedHistory));
    console.log(describeHistory(`approved lifecycle (${APPROVAL_UNIT}, one signed approval)`, approvedHistory));
    console.log(describeHistory(`bare workflow (${K} no-op activities)`, bareHistory));

    const checked: string[] = [healed.workflowId, approved.workflowId, ...warm.ids];
    let largest: OpenedLifecycle[] = [];
    for (const [r, { n, units }] of plan.entries()) {
      const life = await lifecycleRound(client, config, units);
      const base = await bareRound(client, bareQueue, n, K, `r${r + 1}`);
      checked.push(...life.findings.map((f) => f.workflowId), ...base.ids);
      if (n >= Math.max(...rounds)) largest = life.findings;
      const findingsPerS = (n * 1000) / life.ms;
      const barePerS = (n * 1000) / base.ms;
      const ratio = findingsPerS / barePerS;
      const spanRatio = (n * 1000) / life.spanMs / ((n * 1000) / base.spanMs);
      const judged = n === TARGET_N ? ` (target ≥ ${TARGET_RATIO}) ${ratio >= TARGET_RATIO ? 'OK' : 'UNDER TARGET'}` : '';
      if (n === TARGET_N && ratio < TARGET_RATIO) ok = false;
      console.log(`N = ${n}:`);
      console.log(`  lifecycles: ${n} auto-healed findings (${units.length} units, opened at once) to closed in ${seconds(life.ms)}: ${findingsPerS.toFixed(2)} findings/s`);
      console.log(`  baseline:   ${n} bare workflows of ${K} no-op activities in ${seconds(base.ms)}: ${barePerS.toFixed(2)} workflows/s`);
      console.log(`  ratio findings/s / workflows/s: ${ratio.toFixed(2)}${judged}`);
      console.log(`  lifecycles' own span (server clock, first lifecycle started to last closed): ${seconds(life.spanMs)}; bare ${seconds(base.spanMs)}; ratio ${spanRatio.toFixed(2)}`);
    }

    // A few lifecycles of the largest round: their histories, against the events target.
    const sample = Array.from({ length: Math.min(SAMPLE, largest.length) }, (_, i) => largest[Math.floor((i * largest.length) / Math.min(SAMPLE, largest.length))]!);
    const sampled = await mapLimited(sample, (f) => historyStats(client, f.workflowId));
    const events = sampled.map((h) => h.events);
    const bytes = sampled.map((h) => h.bytes);
    const maxEvents = Math.max(healedHistory.events, ...events);
    if (maxEvents > TARGET_EVENTS) ok = false;
    console.log(
      `history per auto-healed lifecycle (N = ${Math.max(...rounds)}, ${sampled.length} sampled): events min ${Math.min(...events)} / median ${median(events)} / max ${Math.max(...events)}` +
        ` (target ≤ ${TARGET_EVENTS}) ${maxEvents <= TARGET_EVENTS ? 'OK' : 'OVER TARGET'}; bytes min ${Math.min(...bytes)} / median ${median(bytes)} / max ${Math.max(...bytes)}` +
        `; steps ${[...new Set(sampled.map((h) => `${h.activities + h.localActivities} (${h.localActivities} local)`))].join(' / ')} (bare: ${K} activities)`,
    );
    console.log(`history per approved lifecycle: ${approvedHistory.events} events, ${approvedHistory.bytes} bytes`);

    // Every failed attempt in every history of the run: lifecycles, scans and bare workflows.
    const failed: FailedAttempt[] = (await mapLimited(checked, (id) => failedAttempts(client, id))).flat();
    console.log(`failed activity attempts in ${checked.length} histories (lifecycles, scans, bare workflows): ${failed.length}`);
    const grouped = new Map<string, number>();
    for (const f of failed) {
      const key = `${f.activityType} ${f.attempt > 0 ? `attempt ${f.attempt - 1} (retried)` : 'failed for good'}: ${f.failureType ?? 'Error'}: ${f.message}`;
      grouped.set(key, (grouped.get(key) ?? 0) + 1);
    }
    for (const [what, count] of grouped) console.log(`  ${count}× ${what}`);
    const local = loggedFailures.filter((f) => f.isLocal);
    console.log(`failed local activity attempts (the worker's log): ${local.length}`);
    const groupedLocal = new Map<string, number>();
    for (const f of local) groupedLocal.set(`${f.activityType} attempt ${f.attempt}: ${f.message}`, (groupedLocal.get(`${f.activityType} attempt ${f.attempt}: ${f.message}`) ?? 0) + 1);
    for (const [what, count] of groupedLocal) console.log(`  ${count}× ${what}`);
  } finally {
    for (const c of cleanups) await c().catch((err: unknown) => console.error(`clean-up: ${(err as Error).message}`));
  }
  if (!ok) process.exitCode = 1;
}

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m), log() {} };

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
