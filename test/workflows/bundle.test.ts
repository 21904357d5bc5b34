import { bundleWorkflowCode } from '@temporalio/worker';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../support/lifecycle-harness';

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/** Module paths webpack kept in the bundle (it annotates each module with its path). */
const FORBIDDEN_IN_BUNDLE = [/node_modules\/@aws-sdk\//, /node_modules\/@temporalio\/(client|worker|activity|testing)\//, /\/activities\/(?!.*\.d\.ts)/, /node_modules\/@octokit\//, /node_modules\/@slack\//];

describe('the workflow bundle', () => {
  it('builds from workflows/ and contains no SDK, activity or Node built-in code', async () => {
    const { code } = await workflowBundle();
    expect(code).toContain('driftLifecycle');
    expect(code).toContain('unitScan');
    for (const pattern of FORBIDDEN_IN_BUNDLE) expect(code).not.toMatch(pattern);
    expect(code).not.toMatch(/require\(["'](node:)?(fs|child_process|net|http)["']\)/);
  });

  it.each([
    ['a Node built-in', 'imports-node-builtin.ts', /node:fs/],
    ['an SDK that does I/O', 'imports-sdk.ts', /disallowed|@temporalio\/client|Module not found|grpc/i],
  ])('refuses workflow code that imports %s', async (_what, file, why) => {
    const said: string[] = [];
    const logger = { ...silent, error: (m: string) => said.push(m), warn: (m: string) => said.push(m) };
    const attempt = bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'forbidden', file), logger });
    const err = (await attempt.then(() => undefined, (e: unknown) => e)) as Error | undefined;
    expect(err).toBeInstanceOf(Error);
    expect(`${err?.message}\n${said.join('\n')}`).toMatch(why);
  });
});
