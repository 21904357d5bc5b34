import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { LogEntry } from '@temporalio/worker';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RefreshOnlyApplyInput, TofuApplyDeps, TofuApplyResult } from '../../../activities/tofu';
import { createTofuApplyActivities, RESOURCE_ADDRESS } from '../../../activities/tofu';
import type { FakeScenario, PreparedScenario } from '../../support/fake-tofu';
import { fakeTofuPath, prepareScenario, removeScenarios } from '../../support/fake-tofu';
import { sharedFixture } from '../../support/shared-fixtures';

/** A real tfstate v4 (serial 1) with one instance, tfcoremock_simple_resource.drift. */
const STATE = sharedFixture(
  'tofu',
  'state',
  'testing__equivalence-tests__tests__drift_simple__terraform.tfstate',
);
/** A real tfstate v4 with a counted resource (test_instance.example[0]). */
const STATE_COUNTED = sharedFixture(
  'tofu',
  'state',
  'internal__command__testdata__show-json-state__basic__terraform.tfstate',
);

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'ASIAXXXXXXXXXXXXXXXX', AWS_SECRET_ACCESS_KEY: SECRET };

let tmp: string;
let workRoot: string;
let stack: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'tofu-apply-test-'));
  workRoot = path.join(tmp, 'work');
  stack = path.join(tmp, 'repo', 'stacks', 'network');
  mkdirSync(stack, { recursive: true });
  writeFileSync(path.join(stack, 'main.tf'), 'resource "tfcoremock_simple_resource" "drift" {}\n');
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  removeScenarios();
});

interface Invocation {
  argv: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  envKeys: string[];
}

function invocations(file: string): Invocation[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Invocation);
}

function serialOf(file: string): number {
  return (JSON.parse(readFileSync(file, 'utf8')) as { serial: number }).serial;
}

async function run(
  kind: 'refresh' | 'replace',
  scenario: FakeScenario,
  input: Partial<RefreshOnlyApplyInput> & { address?: string } = {},
  deps: Partial<TofuApplyDeps> = {},
): Promise<{
  outcome: { ok: true; r: TofuApplyResult } | { ok: false; e: unknown };
  calls: Invocation[];
  logs: LogEntry[];
  prepared: PreparedScenario;
}> {
  const prepared = prepareScenario({
    recordEnv: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'DRIFTPLANE_WORKER_ONLY_SECRET'],
    ...scenario,
  });
  const logs: LogEntry[] = [];
  const env = new MockActivityEnvironment(
    { heartbeatTimeoutMs: 600 },
    { logger: new DefaultLogger('DEBUG', (e) => logs.push(e)) },
  );
  const acts = createTofuApplyActivities({
    workRoot,
    killGraceMs: 300,
    credentialsFor: () => Promise.resolve(CREDENTIALS),
    ...deps,
  });
  const base = {
    unit: 'payments/network',
    workDir: stack,
    binary: fakeTofuPath(),
    lockTimeout: '30s',
    ...input,
    env: { ...prepared.env, ...input.env },
  };
  const p =
    kind === 'refresh'
      ? env.run(acts.runRefreshOnlyApply, base)
      : env.run(acts.runReplaceApply, { address: 'tfcoremock_simple_resource.drift', ...base });
  const outcome = await (p as Promise<TofuApplyResult>).then(
    (r) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  return { outcome, calls: invocations(prepared.logFile), logs, prepared };
}

function logText(logs: LogEntry[]): string {
  return logs
    .map(
      (l) =>
        `${l.message} ${JSON.stringify(l.meta ?? {}, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
    )
    .join('\n');
}

describe('runRefreshOnlyApply (STATE_REFRESH) against the fake tofu', () => {
  it('runs init, state pull, apply -refresh-only, state pull with the documented argv, and records the serials', async () => {
    const { outcome, calls, prepared } = await run(
      'refresh',
      { state: { fixture: STATE } },
      { varFiles: ['prod.tfvars'] },
    );
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(calls.map((c) => c.argv)).toEqual([
      ['init', '-input=false', '-no-color'],
      ['state', 'pull'],
      [
        'apply',
        '-refresh-only',
        '-auto-approve',
        '-input=false',
        '-no-color',
        '-lock-timeout=30s',
        '-var-file=prod.tfvars',
      ],
      ['state', 'pull'],
    ]);
    expect(outcome.r).toMatchObject({
      unit: 'payments/network',
      action: 'refresh-only',
      exitCode: 0,
      serialBefore: 1,
      serialAfter: 2,
      stateChanged: true,
    });
    expect(outcome.r.address).toBeUndefined();
    expect(serialOf(prepared.stateFile)).toBe(2); // what the (fake) backend now holds
    expect(outcome.r.output).toContain('Objects have changed outside of');
    expect(outcome.r.output).toMatch(/Apply complete! Resources: 0 added, 0 changed, 0 destroyed\.$/);
    for (const c of calls) {
      expect(c.cwd.startsWith(workRoot)).toBe(true); // an isolated working copy, never the checkout
    }
    expect(existsSync(calls[0]!.cwd)).toBe(false); // removed afterwards
  });

  it('a refresh that finds nothing leaves the serial alone: stateChanged false', async () => {
    const { outcome } = await run('refresh', { state: { fixture: STATE }, apply: { changed: false } });
    expect(outcome.ok && outcome.r).toMatchObject({ serialBefore: 1, serialAfter: 1, stateChanged: false });
  });

  it('no state yet: serialBefore null', async () => {
    const { outcome } = await run('refresh', { apply: { changed: false } });
    expect(outcome.ok && outcome.r).toMatchObject({
      serialBefore: null,
      serialAfter: null,
      stateChanged: false,
    });
  });

  it('the unit credentials are in the child env only, never the worker env, and never in the output', async () => {
    process.env.DRIFTPLANE_WORKER_ONLY_SECRET = 'worker-secret-value-123';
    try {
      const { outcome, calls, logs } = await run('refresh', {
        state: { fixture: STATE },
        apply: { echoEnv: ['AWS_SECRET_ACCESS_KEY'] },
      });
      expect(outcome.ok).toBe(true);
      for (const c of calls) {
        expect(c.env).toEqual(CREDENTIALS);
        expect(c.envKeys).not.toContain('DRIFTPLANE_WORKER_ONLY_SECRET');
      }
      expect(process.env.AWS_SECRET_ACCESS_KEY).not.toBe(SECRET);
      if (!outcome.ok) return;
      expect(outcome.r.output).toContain('debug: AWS_SECRET_ACCESS_KEY=');
      expect(JSON.stringify(outcome.r) + logText(logs)).not.toContain(SECRET);
    } finally {
      delete process.env.DRIFTPLANE_WORKER_ONLY_SECRET;
    }
  });

  it('a failing apply: a retryable TofuApplyFailed with the scrubbed output, the state untouched', async () => {
    const { outcome, calls, logs, prepared } = await run('refresh', {
      state: { fixture: STATE },
      apply: {
        exit: 1,
        echoEnv: ['AWS_SECRET_ACCESS_KEY'],
        stderr: '\nError: reading EC2 Security Group (sg-0abc): AccessDenied for key AKIAIOSFODNN7EXAMPLE\n',
      },
    });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    const e = outcome.e as ApplicationFailure;
    expect(e).toBeInstanceOf(ApplicationFailure);
    expect(e.type).toBe('TofuApplyFailed');
    expect(e.nonRetryable).toBe(false); // a refresh-only apply is safe to run again
    expect(e.message).toBe(
      'refresh-only apply of payments/network failed in apply: apply exited with code 1',
    );
    const details = e.details?.[0] as {
      phase: string;
      exitCode: number;
      output: string;
      stateLocked: boolean;
    };
    expect(details).toMatchObject({ phase: 'apply', exitCode: 1, stateLocked: false });
    expect(details.output).toContain('Error: reading EC2 Security Group (sg-0abc): AccessDenied');
    const everything = JSON.stringify({ message: e.message, details: e.details }) + logText(logs);
    for (const s of [SECRET, 'AKIAIOSFODNN7EXAMPLE']) expect(everything).not.toContain(s);
    expect(calls.map((c) => c.argv[0])).toEqual(['init', 'state', 'apply']); // no pull after a failed apply
    expect(existsSync(prepared.stateFile)).toBe(false);
  });

  it('a failing init: TofuApplyFailed in phase init, nothing applied', async () => {
    const { outcome, calls } = await run('refresh', {
      init: { exit: 1, stderr: 'Error: Failed to query available provider packages\n' },
    });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    const e = outcome.e as ApplicationFailure;
    expect(e.type).toBe('TofuApplyFailed');
    expect(e.details?.[0] as { phase: string; output: string }).toMatchObject({ phase: 'init' });
    expect((e.details?.[0] as { output: string }).output).toContain(
      'Failed to query available provider packages',
    );
    expect(calls.map((c) => c.argv[0])).toEqual(['init']);
  });

  it('a state pull that prints no JSON: TofuApplyFailed before anything is applied, without quoting the state', async () => {
    const { outcome, calls } = await run('refresh', { statePull: { raw: `{"serial": "${SECRET}` } });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    const e = outcome.e as ApplicationFailure;
    expect(e.message).toMatch(/failed in state-pull: state pull printed no valid JSON/);
    expect(JSON.stringify(e.details) + e.message).not.toContain(SECRET);
    expect(JSON.stringify(e.details)).not.toContain('serial'); // the state is never quoted
    expect(calls.map((c) => c.argv[0])).toEqual(['init', 'state']);
  });

  it('a stack with a local terraform.tfstate is refused (the working copy would lose it)', async () => {
    const local = path.join(tmp, 'local-stack');
    mkdirSync(local, { recursive: true });
    writeFileSync(path.join(local, 'main.tf'), '');
    writeFileSync(path.join(local, 'terraform.tfstate'), readFileSync(STATE));
    const { outcome, calls } = await run('refresh', {}, { workDir: local });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.e).toMatchObject({ type: 'LocalStateNotSupported', nonRetryable: true });
    expect(calls).toEqual([]);
  });
});

describe('runReplaceApply (DESTROY_RECREATE) against the fake tofu', () => {
  it('replaces exactly the one instance: -replace and -target of the address, serial moved', async () => {
    const { outcome, calls } = await run('replace', { state: { fixture: STATE } });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(calls.map((c) => c.argv)).toEqual([
      ['init', '-input=false', '-no-color'],
      ['state', 'pull'],
      [
        'apply',
        '-replace=tfcoremock_simple_resource.drift',
        '-target=tfcoremock_simple_resource.drift',
        '-auto-approve',
        '-input=false',
        '-no-color',
        '-lock-timeout=30s',
      ],
      ['state', 'pull'],
    ]);
    expect(outcome.r).toMatchObject({
      action: 'replace',
      address: 'tfcoremock_simple_resource.drift',
      serialBefore: 1,
      serialAfter: 2,
      stateChanged: true,
    });
    expect(outcome.r.output).toContain('Apply complete! Resources: 1 added, 0 changed, 1 destroyed.');
    for (const c of calls) expect(c.env).toEqual(CREDENTIALS);
  });

  it('an indexed instance address is matched against the state', async () => {
    const { outcome } = await run(
      'replace',
      { state: { fixture: STATE_COUNTED } },
      { address: 'test_instance.example[0]' },
    );
    expect(outcome.ok && outcome.r).toMatchObject({
      address: 'test_instance.example[0]',
      serialBefore: 1,
      serialAfter: 2,
    });
  });

  it('an address that is not in the state: non-retryable ReplaceTargetNotFound, apply never runs', async () => {
    const { outcome, calls } = await run(
      'replace',
      { state: { fixture: STATE } },
      { address: 'aws_instance.gone' },
    );
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.e).toMatchObject({ type: 'ReplaceTargetNotFound', nonRetryable: true });
    expect(calls.map((c) => c.argv[0])).toEqual(['init', 'state']);
  });

  it('a failing replace is non-retryable (it may have destroyed the instance already)', async () => {
    const { outcome } = await run('replace', {
      state: { fixture: STATE },
      apply: { exit: 1, stderr: '\nError: deleting EC2 Security Group: DependencyViolation\n' },
    });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.e).toMatchObject({ type: 'TofuApplyFailed', nonRetryable: true });
    expect(((outcome.e as ApplicationFailure).details?.[0] as { output: string }).output).toContain(
      'DependencyViolation',
    );
  });

  it('a replace that could not take the state lock is retryable (nothing was applied)', async () => {
    const { outcome } = await run('replace', {
      state: { fixture: STATE },
      apply: { exit: 1, stderr: '\nError: Error acquiring the state lock\n\nLock Info:\n  ID: 8b2a7c1e\n' },
    });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.e).toMatchObject({ type: 'TofuApplyFailed', nonRetryable: false });
    expect((outcome.e as ApplicationFailure).details?.[0]).toMatchObject({
      stateLocked: true,
      phase: 'apply',
    });
  });

  it.each([
    '-destroy',
    'aws_instance.web -target=x',
    'data.aws_ami.ubuntu',
    'aws_instance.web["a" ]',
    'aws_instance',
    'module..aws_instance.web',
    'aws_instance.web[0]; rm -rf /',
  ])('rejects the address %j before running anything (InvalidApplyInput)', async (address) => {
    expect(RESOURCE_ADDRESS.test(address)).toBe(false);
    const { outcome, calls } = await run('replace', { state: { fixture: STATE } }, { address });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.e).toMatchObject({ type: 'InvalidApplyInput', nonRetryable: true });
    expect(calls).toEqual([]);
  });

  it.each([
    'aws_instance.web',
    'aws_instance.web[3]',
    'module.net.aws_security_group.app["a-b"]',
    'module.a["x"].module.b[0].null_resource.n_1',
  ])('accepts the address %j', (address) => {
    expect(RESOURCE_ADDRESS.test(address)).toBe(true);
  });
});
