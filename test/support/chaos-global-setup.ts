import { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { locateTemporalCli } from '../../cli/local-tools';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';
import { devServerConfigArgs } from '../../workers/server-limits';
import { dropLeftoverDatabases } from './ledger-db';
import { workflowBundle } from './lifecycle-helpers';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The prebuilt workflow bundle every chaos worker process runs (built once per run, not once per file). */
    chaosWorkflowBundle: string;
  }
}

let env: TestWorkflowEnvironment | undefined;
let bundleDir: string | undefined;

/**
 * The chaos project's own Temporal dev server (SQLite in memory), apart from the `temporal`
 * project's: chaos scenarios kill workers, stop AWS and flood the server, and must neither see nor
 * disturb other files' lifecycles. The server-restart scenario starts one more, on a database file.
 * The workflow bundle is built here once for every file's worker processes.
 */
export async function setup(project: TestProject): Promise<void> {
  await dropLeftoverDatabases();
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: locateTemporalCli() },
      searchAttributes: SEARCH_ATTRIBUTE_KEYS,
      extraArgs: devServerConfigArgs(),
    },
  });
  project.provide('temporalAddress', env.address);
  bundleDir = await mkdtemp(path.join(os.tmpdir(), 'driftplane-chaos-bundle-'));
  const bundleFile = path.join(bundleDir, 'workflow-bundle.js');
  await writeFile(bundleFile, (await workflowBundle()).code);
  project.provide('chaosWorkflowBundle', bundleFile);
}

/** Stops the chaos project's dev server and removes the bundle. */
export async function teardown(): Promise<void> {
  await env?.teardown();
  if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
}
