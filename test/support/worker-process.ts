import { Client, Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../workers/config';
import { testConfig, workflowBundle } from './lifecycle-helpers';
import { repoRoot } from './shared-fixtures';

/**
 * The production worker entrypoint (workers/main.ts, prebuilt bundle) as child processes a test
 * can SIGKILL, with a client of its own. Call `close()` after the tests: it kills what is left.
 */
export interface WorkerProcesses {
  config: Config;
  client: Client;
  start(): Promise<ChildProcess>;
  kill9(child: ChildProcess): Promise<void>;
  close(): Promise<void>;
}

/** Prepares a config, the workflow bundle on disk, and a client, for worker processes on the dev server at `address`. */
export async function workerProcesses(address: string, overrides: Record<string, string> = {}): Promise<WorkerProcesses> {
  const config = await testConfig(address, overrides);
  const bundleFile = path.join(config.home, 'workflow-bundle.js');
  await writeFile(bundleFile, (await workflowBundle()).code);
  const connection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection });
  const children: ChildProcess[] = [];

  const kill9 = (child: ChildProcess): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });

  const start = (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'workers', 'main.ts')], {
      cwd: repoRoot,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: config.temporalAddress,
        DRIFTPLANE_HOME: config.home,
        DRIFTPLANE_TASK_QUEUE: config.taskQueue,
        DRIFTPLANE_REGISTRY: config.registryDir,
        DRIFTPLANE_VERIFY_INTERVAL: '1s',
        // As testConfig: another test file's reconciled close of the same drift is not a regression here.
        DRIFTPLANE_REOPEN_WINDOW: config.reconcile.reopenWindow,
        ...overrides,
        // Production mode: the prebuilt workflow bundle, as `npm run build:bundle` writes it.
        DRIFTPLANE_WORKFLOW_BUNDLE: bundleFile,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    return new Promise((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (process.env.DRIFTPLANE_TEST_WORKER_LOG) process.stderr.write(d);
        if (err.includes('driftplane worker:')) resolve(child);
      });
      child.once('exit', (code) => reject(new Error(`worker exited early (${code}): ${err}`)));
    });
  };

  return {
    config,
    client,
    start,
    kill9,
    close: async () => {
      for (const c of children) await kill9(c);
      await connection.close();
    },
  };
}
