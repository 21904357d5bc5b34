import { dropLeftoverDatabases } from './ledger-db';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { locateTemporalCli } from '../../cli/local-tools';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';
import { devServerConfigArgs } from '../../workers/server-limits';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}

let env: TestWorkflowEnvironment | undefined;

/** One real Temporal dev server (the Temporal CLI, SQLite in memory) for the whole test run. */
export async function setup(project: TestProject): Promise<void> {
  // Databases of earlier runs that were killed before they could drop theirs.
  await dropLeftoverDatabases();
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: locateTemporalCli() },
      searchAttributes: SEARCH_ATTRIBUTE_KEYS,
      extraArgs: devServerConfigArgs(),
    },
  });
  project.provide('temporalAddress', env.address);
}

export async function teardown(): Promise<void> {
  await env?.teardown();
}
