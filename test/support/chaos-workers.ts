import { Client, Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import type { Config } from '../../workers/config';
import { activityFailureOf, type LoggedActivityFailure } from './chaos-lifecycle';
import { dropDatabase } from './ledger-db';
import { testConfig, workflowBundle } from './lifecycle-helpers';
import { repoRoot } from './shared-fixtures';

/**
 * Worker processes for chaos scenarios: the production entrypoint (through test/support/chaos-worker.ts,
 * which can hold one activity type for a SIGKILL), one config (task queue, home, evidence folder,
 * PostgreSQL ledger) shared by every process started, and a client of the test's own.
 */
export interface ChaosWorkers {
  config: Config;
  client: Client;
  /** Where a held activity announces itself (`<type>.json`). */
  holdDir: string;
  /** Starts a worker process; `hold` parks that activity type after it ran (chaos-hold.ts). */
  start(opts?: { hold?: string; env?: Record<string, string> }): Promise<ChildProcess>;
  kill9(child: ChildProcess): Promise<void>;
  /**
   * Every attempt the worker processes logged as failed ("Activity failed", the SDK's warning for
   * activities and local activities alike): the only record of a failed local activity attempt,
   * which history does not keep.
   */
  activityFailures(): LoggedActivityFailure[];
  /** Ends lifecycles left running on the task queue, kills the worker processes, closes the client and drops the ledger database. */
  close(): Promise<void>;
}

/** The failed attempt a worker's JSON log line reports, if it is one. */
function loggedFailure(line: string): LoggedActivityFailure | undefined {
  if (!line.includes('Activity failed')) return undefined;
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  return doc.msg === 'Activity failed' ? activityFailureOf(doc) : undefined;
}

/** Prepares a config (with `overrides` as worker environment), the bundle on disk and a client, for the dev server at `address`. */
export async function chaosWorkers(
  address: string,
  overrides: Record<string, string> = {},
): Promise<ChaosWorkers> {
  const config = await testConfig(address, overrides);
  const holdDir = await mkdtemp(path.join(os.tmpdir(), 'driftplane-chaos-hold-'));
  // Built once per run by the chaos global setup; built here when a file runs outside that project.
  let bundleFile = inject('chaosWorkflowBundle');
  if (!bundleFile) {
    bundleFile = path.join(config.home, 'workflow-bundle.js');
    await writeFile(bundleFile, (await workflowBundle()).code);
  }
  const connection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection });
  const children: ChildProcess[] = [];
  const failures: LoggedActivityFailure[] = [];
  let closed = false;

  const kill9 = (child: ChildProcess): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });

  const start = (opts: { hold?: string; env?: Record<string, string> } = {}): Promise<ChildProcess> => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'test', 'support', 'chaos-worker.ts')],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: config.temporalAddress,
          DRIFTPLANE_HOME: config.home,
          DRIFTPLANE_TASK_QUEUE: config.taskQueue,
          DRIFTPLANE_REGISTRY: config.registryDir,
          DRIFTPLANE_LEDGER_URL: config.ledger.url,
          DRIFTPLANE_VERIFY_INTERVAL: config.verifyInterval,
          DRIFTPLANE_REOPEN_WINDOW: config.reconcile.reopenWindow,
          ...overrides,
          ...opts.env,
          DRIFTPLANE_WORKFLOW_BUNDLE: bundleFile,
          ...(opts.hold ? { CHAOS_HOLD_ACTIVITY: opts.hold, CHAOS_HOLD_DIR: holdDir } : {}),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.push(child);
    return new Promise((resolve, reject) => {
      let err = '';
      let partial = '';
      child.stderr!.on('data', (d: Buffer) => {
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const failed = loggedFailure(line);
          if (failed) failures.push(failed);
        }
        err = (err + d.toString()).slice(-20_000);
        if (process.env.DRIFTPLANE_TEST_WORKER_LOG) process.stderr.write(d);
        if (err.includes('driftplane worker:')) resolve(child);
      });
      child.once('exit', (code, signal) =>
        reject(new Error(`worker exited early (${code ?? signal}): ${err}`)),
      );
    });
  };

  return {
    config,
    client,
    holdDir,
    start,
    kill9,
    activityFailures: () => [...failures],
    close: async () => {
      if (closed) return;
      closed = true;
      // A lifecycle a failed test left running would be joined by the next scan of the same drift (derived ids).
      await (async () => {
        for await (const r of client.workflow.list({
          query: `TaskQueue = '${config.taskQueue}' AND ExecutionStatus = 'Running'`,
        })) {
          await client.workflow
            .getHandle(r.workflowId, r.runId)
            .terminate('chaos test cleanup')
            .catch(() => undefined);
        }
      })().catch(() => undefined);
      for (const c of children) await kill9(c);
      await rm(holdDir, { recursive: true, force: true });
      await connection.close();
      if (config.ledger.url.startsWith('postgres'))
        await dropDatabase(config.ledger.url).catch(() => undefined);
    },
  };
}
