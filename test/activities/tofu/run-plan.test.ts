import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { LogEntry } from '@temporalio/worker';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunPlanInput, RunPlanResult, TofuActivityDeps } from '../../../activities/tofu';
import { createTofuActivities } from '../../../activities/tofu';
import type { FakeScenario, PreparedScenario } from '../../support/fake-tofu';
import { fakeTofuPath, isAlive, prepareScenario, removeScenarios, waitFor } from '../../support/fake-tofu';
import { sharedFixture } from '../../support/shared-fixtures';

const plan = (name: string): string => sharedFixture('tofu', 'plan', name);
const DRIFT_SIMPLE = plan('testing__equivalence-tests__outputs__drift_simple__plan.json');
const DRIFT_REFRESH_ONLY = plan('testing__equivalence-tests__outputs__drift_refresh_only__plan.json');
const OUTPUTS_ONLY = plan('testing__equivalence-tests__outputs__variables_and_outputs__plan.json');
const PLAN_ERROR = plan('internal__command__testdata__show-json__plan-error__output.json');
const SENSITIVE = plan('internal__command__testdata__show-json__sensitive-values__output.json');

let tmp: string;
let workRoot: string;
let stack: string;
/** A plan derived at test time from drift_simple with nothing to do (no drift, every change a no-op). */
let noChangesPlan: string;
/** The sensitive-values fixture, marked errored, so its plan's stderr ends up in the result. */
let erroredSensitivePlan: string;
/** drift_simple without resource_changes: the update is lost, prior_state and planned_values differ. */
let changesRemovedPlan: string;
/** drift_refresh_only without its drift: a clean refresh-only plan (states differ by design). */
let cleanRefreshOnlyPlan: string;
/** drift_simple with "actions" written twice in its change (JSON.parse keeps the second). */
let repeatedKeyPlan: string;
/** Not a plan: a format version and nothing else. */
let formatVersionOnly: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'run-plan-test-'));
  workRoot = path.join(tmp, 'work');
  stack = path.join(tmp, 'repo', 'stacks', 'network');
  mkdirSync(path.join(stack, '.terraform', 'providers'), { recursive: true });
  writeFileSync(path.join(stack, 'main.tf'), 'resource "tfcoremock_simple_resource" "drift" {}\n');
  writeFileSync(path.join(stack, '.terraform', 'providers', 'cache'), 'x');
  const simple = JSON.parse(readFileSync(DRIFT_SIMPLE, 'utf8')) as {
    resource_drift: unknown[];
    resource_changes: { change: { actions: string[]; before: unknown; after: unknown } }[];
  };
  simple.resource_drift = [];
  for (const rc of simple.resource_changes) {
    rc.change.actions = ['no-op'];
    rc.change.after = rc.change.before;
  }
  noChangesPlan = path.join(tmp, 'no-changes.json');
  writeFileSync(noChangesPlan, JSON.stringify(simple));
  const sensitive = JSON.parse(readFileSync(SENSITIVE, 'utf8')) as Record<string, unknown>;
  erroredSensitivePlan = path.join(tmp, 'errored-sensitive.json');
  writeFileSync(erroredSensitivePlan, JSON.stringify({ ...sensitive, errored: true }));

  const derive = (name: string, content: string): string => {
    const file = path.join(tmp, name);
    writeFileSync(file, content);
    return file;
  };
  const { resource_changes: _changes, ...withoutChanges } = JSON.parse(
    readFileSync(DRIFT_SIMPLE, 'utf8'),
  ) as Record<string, unknown>;
  changesRemovedPlan = derive('changes-removed.json', JSON.stringify(withoutChanges));
  const { resource_drift: _drift, ...cleanRefresh } = JSON.parse(
    readFileSync(DRIFT_REFRESH_ONLY, 'utf8'),
  ) as Record<string, unknown>;
  cleanRefreshOnlyPlan = derive('clean-refresh-only.json', JSON.stringify(cleanRefresh));
  repeatedKeyPlan = derive(
    'repeated-key.json',
    readFileSync(DRIFT_SIMPLE, 'utf8').replace('"actions"', '"actions": ["delete", "create"], "actions"'),
  );
  formatVersionOnly = derive('format-version-only.json', '{"format_version":"1.2"}');
});

const startedPids: number[] = [];

afterAll(() => {
  // Whatever a failed assertion left running (the hang tests' fake tofu and its grandchild) is stopped here.
  for (const pid of startedPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(tmp, { recursive: true, force: true });
  removeScenarios();
});

function readPids(file: string): { pid: number; grandchild: number } {
  const pids = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; grandchild: number };
  startedPids.push(pids.pid, pids.grandchild);
  return pids;
}

interface Invocation {
  argv: string[];
  cwd: string;
  files: string[];
  env: Record<string, string | undefined>;
  envKeys: string[];
}

interface Run {
  result: RunPlanResult;
  calls: Invocation[];
  logs: LogEntry[];
  heartbeats: unknown[];
  scenario: PreparedScenario;
}

function invocations(file: string): Invocation[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Invocation);
}

function setup(deps: Partial<TofuActivityDeps> = {}, info: { heartbeatTimeoutMs?: number } = {}) {
  const logs: LogEntry[] = [];
  const heartbeats: unknown[] = [];
  const env = new MockActivityEnvironment(
    { heartbeatTimeoutMs: info.heartbeatTimeoutMs ?? 600 },
    { logger: new DefaultLogger('DEBUG', (e) => logs.push(e)) },
  );
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  const acts = createTofuActivities({
    workRoot,
    lockRetry: { maxAttempts: 3, initialDelayMs: 20, backoffCoefficient: 2, maxDelayMs: 100 },
    killGraceMs: 300,
    ...deps,
  });
  return { env, acts, logs, heartbeats };
}

async function runScenario(
  scenario: FakeScenario,
  input: Partial<RunPlanInput> = {},
  deps: Partial<TofuActivityDeps> = {},
): Promise<Run> {
  const prepared = prepareScenario(scenario);
  const { env, acts, logs, heartbeats } = setup(deps);
  const runInput: RunPlanInput = {
    unit: 'payments/network',
    workDir: stack,
    binary: fakeTofuPath(),
    mode: 'normal',
    lockTimeout: '1s',
    ...input,
    env: { ...prepared.env, ...input.env },
  };
  const result = (await env.run(acts.runPlan, runInput)) as RunPlanResult;
  return { result, calls: invocations(prepared.logFile), logs, heartbeats, scenario: prepared };
}

function logText(logs: LogEntry[]): string {
  return logs
    .map(
      (l) =>
        `${l.message} ${JSON.stringify(l.meta ?? {}, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
    )
    .join('\n');
}

describe('runPlan against a fake tofu replaying recorded plans', () => {
  it('exit code 0 with an empty plan: NO_CHANGES, in an isolated working copy without .terraform', async () => {
    const { result, calls, heartbeats } = await runScenario({
      plan: { exit: 0 },
      show: { fixture: noChangesPlan },
    });
    expect(result).toMatchObject({
      status: 'NO_CHANGES',
      phase: 'done',
      planExitCode: 0,
      exitCodeAgrees: true,
      planAttempts: 1,
    });
    expect(result.plan?.result).toBe('NO_CHANGES');
    expect(calls.map((c) => c.argv[0])).toEqual(['init', 'plan', 'show']);
    for (const c of calls) {
      expect(c.cwd).not.toBe(stack);
      expect(c.cwd.startsWith(workRoot)).toBe(true);
      expect(c.files).toEqual(['main.tf']); // .terraform is never copied
    }
    expect(existsSync(calls[0]!.cwd)).toBe(false); // the working copy is removed afterwards
    expect(existsSync(path.join(stack, '.terraform', 'providers', 'cache'))).toBe(true);
    expect(heartbeats.length).toBeGreaterThan(0);
  });

  it('exit code 2 with drift: DRIFT_DETECTED, with init/plan/show arguments as documented', async () => {
    const { result, calls } = await runScenario({ plan: { exit: 2 }, show: { fixture: DRIFT_SIMPLE } });
    expect(result).toMatchObject({ status: 'DRIFT_DETECTED', planExitCode: 2, exitCodeAgrees: true });
    expect(result.plan?.resourceDrift.map((d) => d.address)).toEqual(['tfcoremock_simple_resource.drift']);
    const [init, planCall, show] = calls;
    expect(init?.argv).toEqual(['init', '-input=false', '-no-color']);
    expect(planCall?.argv.slice(0, 5)).toEqual([
      'plan',
      '-input=false',
      '-no-color',
      '-detailed-exitcode',
      '-lock-timeout=1s',
    ]);
    expect(planCall?.argv).not.toContain('-refresh-only');
    const out = planCall?.argv.find((a) => a.startsWith('-out='))?.slice('-out='.length);
    expect(out).toBeTruthy();
    expect(show?.argv).toEqual(['show', '-json', '-no-color', out]);
  });

  it('exit code 1: DETECTION_FAILED with a scrubbed stderr excerpt; credentials only in the child env', async () => {
    process.env.DRIFTPLANE_WORKER_ONLY_SECRET = 'worker-secret-value-123';
    try {
      const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
      const { result, calls, logs } = await runScenario(
        {
          recordEnv: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'DRIFTPLANE_WORKER_ONLY_SECRET'],
          plan: {
            exit: 1,
            echoEnv: ['AWS_SECRET_ACCESS_KEY', 'TF_VAR_db_password'],
            stderr: 'Error: creating EC2 client: AccessDenied for key AKIAIOSFODNN7EXAMPLE\n',
          },
        },
        { env: { TF_VAR_db_password: 'hunter2-but-longer' } },
        {
          credentialsFor: (unit) => {
            expect(unit).toBe('payments/network');
            return Promise.resolve({
              AWS_ACCESS_KEY_ID: 'ASIAXXXXXXXXXXXXXXXX',
              AWS_SECRET_ACCESS_KEY: secret,
            });
          },
        },
      );
      expect(result).toMatchObject({ status: 'DETECTION_FAILED', phase: 'plan', planExitCode: 1 });
      expect(result.reason).toContain('exited with code 1');
      expect(result.stderrExcerpt).toContain('Error: creating EC2 client');
      const everything = JSON.stringify(result) + logText(logs);
      for (const s of [secret, 'hunter2-but-longer', 'AKIAIOSFODNN7EXAMPLE', 'ASIAXXXXXXXXXXXXXXXX']) {
        expect(everything).not.toContain(s);
      }
      expect(calls).toHaveLength(2); // init, plan: no show after a failed plan
      expect(calls[1]?.env).toEqual({
        AWS_ACCESS_KEY_ID: 'ASIAXXXXXXXXXXXXXXXX',
        AWS_SECRET_ACCESS_KEY: secret,
      });
      expect(calls[1]?.envKeys).not.toContain('DRIFTPLANE_WORKER_ONLY_SECRET');
      expect(process.env.AWS_SECRET_ACCESS_KEY).not.toBe(secret);
    } finally {
      delete process.env.DRIFTPLANE_WORKER_ONLY_SECRET;
    }
  });

  it('refresh-only, exit code 0 but drift in the JSON: the JSON wins (DRIFT_DETECTED)', async () => {
    const { result, calls, logs } = await runScenario(
      { plan: { exit: 0 }, show: { fixture: DRIFT_REFRESH_ONLY } },
      { mode: 'refresh-only' },
    );
    expect(calls[1]?.argv).toContain('-refresh-only');
    expect(result).toMatchObject({
      status: 'DRIFT_DETECTED',
      planExitCode: 0,
      exitCodeAgrees: false,
      mode: 'refresh-only',
    });
    expect(result.plan?.resourceChanges).toEqual([]);
    expect(result.plan?.summary.driftedResources).toBe(1);
    expect(logs.some((l) => l.level === 'WARN' && /disagrees/.test(l.message))).toBe(true);
  });

  it('refresh-only, exit code 2 explained by changed root outputs only: no resource drift, and the codes agree', async () => {
    const { result } = await runScenario(
      { plan: { exit: 2 }, show: { fixture: OUTPUTS_ONLY } },
      { mode: 'refresh-only' },
    );
    expect(result).toMatchObject({ status: 'NO_CHANGES', planExitCode: 2, exitCodeAgrees: true });
    expect(result.plan?.outputChanges.length).toBeGreaterThan(0);
  });

  it('refresh-only, exit code 2 but nothing at all in the JSON (upstream #35117): could not tell, never NO_CHANGES', async () => {
    const { result, logs } = await runScenario(
      { plan: { exit: 2 }, show: { fixture: noChangesPlan } },
      { mode: 'refresh-only' },
    );
    expect(result).toMatchObject({ status: 'DETECTION_FAILED', planExitCode: 2, exitCodeAgrees: false });
    expect(result.reason).toMatch(/exited 2 .* shows no change at all/);
    expect(logs.some((l) => l.level === 'WARN' && /disagrees/.test(l.message))).toBe(true);
  });

  it('non-JSON show output: DETECTION_FAILED', async () => {
    const { result } = await runScenario({
      plan: { exit: 2 },
      show: { raw: 'Error: plan file is corrupt\x00\x01garbage{' },
    });
    expect(result).toMatchObject({ status: 'DETECTION_FAILED', phase: 'show' });
    expect(result.reason).toMatch(/no valid JSON/);
  });

  it('JSON that is not a plan this version understands: DETECTION_FAILED naming the field', async () => {
    const notAPlan = path.join(tmp, 'v2.json');
    writeFileSync(notAPlan, JSON.stringify({ format_version: '2.0', resource_changes: [] }));
    const { result } = await runScenario({ plan: { exit: 0 }, show: { fixture: notAPlan } });
    expect(result).toMatchObject({ status: 'DETECTION_FAILED', phase: 'normalize' });
    expect(result.reason).toContain('/format_version');
  });

  it('a normal plan whose resource_changes is gone while the states differ: DETECTION_FAILED, never clean', async () => {
    const { result } = await runScenario({ plan: { exit: 0 }, show: { fixture: changesRemovedPlan } });
    expect(result).toMatchObject({ status: 'DETECTION_FAILED', phase: 'normalize', planExitCode: 0 });
    expect(result.plan).toMatchObject({ result: 'DETECTION_FAILED', changesMissing: true });
    expect(result.reason).toMatch(/^resource_changes is missing, .*tfcoremock_simple_resource\.drift/);
  });

  it('a refresh-only plan is normalized as one: no resource_changes is no failure there', async () => {
    const clean = await runScenario(
      { plan: { exit: 0 }, show: { fixture: cleanRefreshOnlyPlan } },
      { mode: 'refresh-only' },
    );
    expect(clean.result).toMatchObject({ status: 'NO_CHANGES', phase: 'done', exitCodeAgrees: true });
    // The same output from a run that asked for a normal plan: its changes are missing.
    const normal = await runScenario({ plan: { exit: 0 }, show: { fixture: cleanRefreshOnlyPlan } });
    expect(normal.result).toMatchObject({ status: 'DETECTION_FAILED', phase: 'normalize' });
  });

  it.each<[string, () => string, RegExp]>([
    [
      'a key written twice',
      () => repeatedKeyPlan,
      /^show -json output is not a plan this version understands: show -json:\d+:\d+ field \/resource_changes\/0\/change\/actions: duplicate key "actions"/,
    ],
    ['a format version alone', () => formatVersionOnly, /field \/planned_values: required object is missing/],
  ])(
    'show output that is not a plan (%s): DETECTION_FAILED in phase normalize',
    async (_name, file, reason) => {
      const { result } = await runScenario({ plan: { exit: 0 }, show: { fixture: file() } });
      expect(result).toMatchObject({ status: 'DETECTION_FAILED', phase: 'normalize', planExitCode: 0 });
      expect(result.plan).toBeUndefined();
      expect(result.reason).toMatch(reason);
    },
  );

  it('an errored plan with exit code 0: DETECTION_FAILED, sensitive values scrubbed, redacted artifact', async () => {
    const artifactsDir = path.join(tmp, 'artifacts');
    const { result, logs } = await runScenario(
      {
        plan: { exit: 0, stderr: 'Error: Invalid reference\n  ami = "boop"\n' },
        show: { fixture: erroredSensitivePlan },
      },
      {},
      { artifactsDir },
    );
    expect(result).toMatchObject({ status: 'DETECTION_FAILED', planExitCode: 0 });
    expect(result.plan?.errored).toBe(true);
    expect(result.stderrExcerpt).toContain('Error: Invalid reference');
    expect(JSON.stringify(result) + logText(logs)).not.toContain('boop');
    expect(result.planJsonPath).toBeDefined();
    const artifact = readFileSync(result.planJsonPath!, 'utf8');
    expect(artifact).toContain('[REDACTED]'); // domain/redaction's format (keyless: the test passes no redactor)
    expect(artifact).not.toContain('boop');
  });

  it('a failing init: DETECTION_FAILED in phase init, plan never runs', async () => {
    const { result, calls } = await runScenario({
      init: { exit: 1, stderr: 'Error: Failed to query available provider packages\n' },
    });
    expect(result).toMatchObject({ status: 'DETECTION_FAILED', phase: 'init', planAttempts: 0 });
    expect(result.stderrExcerpt).toContain('Failed to query available provider packages');
    expect(calls.map((c) => c.argv[0])).toEqual(['init']);
  });

  it('a binary that does not exist: DETECTION_FAILED, not an exception', async () => {
    const { result } = await runScenario({}, { binary: path.join(tmp, 'no-such-tofu') });
    expect(result).toMatchObject({ status: 'DETECTION_FAILED', phase: 'init' });
    expect(result.reason).toMatch(/ENOENT/);
  });

  it('a state lock held throughout: retried with backoff, then DETECTION_STALE', async () => {
    const { result, calls } = await runScenario({ plan: { lockFailures: 'always' } });
    expect(result).toMatchObject({
      status: 'DETECTION_STALE',
      phase: 'plan',
      planExitCode: 1,
      planAttempts: 3,
    });
    expect(result.stderrExcerpt).toContain('Error acquiring the state lock');
    expect(calls.filter((c) => c.argv[0] === 'plan')).toHaveLength(3);
  });

  it('a state lock released after one retry: the plan result', async () => {
    const { result } = await runScenario({
      plan: { lockFailures: 1, exit: 2 },
      show: { fixture: DRIFT_SIMPLE },
    });
    expect(result).toMatchObject({ status: 'DRIFT_DETECTED', planAttempts: 2 });
  });

  it.each([
    ['exits on SIGINT', false],
    ['ignores SIGINT (needs SIGKILL)', true],
  ])(
    'a hung plan (leader %s) cancelled by heartbeat timeout: the whole process group is killed',
    async (_name, ignoreInterrupt) => {
      const prepared = prepareScenario({ plan: { hang: true, ignoreInterrupt } });
      const { env, acts, heartbeats } = setup({ heartbeatIntervalMs: 50 }, { heartbeatTimeoutMs: 150 });
      const input: RunPlanInput = {
        unit: 'payments/network',
        workDir: stack,
        binary: fakeTofuPath(),
        env: prepared.env,
      };
      const running = env.run(acts.runPlan, input);
      const outcome = running.then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, e }),
      );
      await waitFor(() => existsSync(prepared.pidFile) && readFileSync(prepared.pidFile, 'utf8').length > 0);
      const pids = readPids(prepared.pidFile);
      expect(isAlive(pids.pid) && isAlive(pids.grandchild)).toBe(true);
      await waitFor(() => heartbeats.some((h) => (h as { phase?: string }).phase === 'plan'));
      // What the worker does when the server reports the heartbeat timeout.
      env.cancel('TIMED_OUT');
      const o = await outcome;
      expect(o.ok).toBe(false);
      if (!o.ok) expect(o.e).toBeInstanceOf(CancelledFailure);
      await waitFor(() => !isAlive(pids.pid) && !isAlive(pids.grandchild), 3000);
    },
  );

  it('a command hung past the command timeout: DETECTION_FAILED, group killed', async () => {
    // init hangs, so a slow machine cannot make an earlier step hit the short timeout instead.
    const prepared = prepareScenario({ init: { hang: true, ignoreInterrupt: true } });
    const { env, acts } = setup({ commandTimeoutMs: 1500, killGraceMs: 100 });
    const input: RunPlanInput = {
      unit: 'payments/network',
      workDir: stack,
      binary: fakeTofuPath(),
      env: prepared.env,
    };
    const result = (await env.run(acts.runPlan, input)) as RunPlanResult;
    expect(result).toMatchObject({ status: 'DETECTION_FAILED', phase: 'init' });
    expect(result.reason).toMatch(/init timed out after 1500 ms/);
    const pids = readPids(prepared.pidFile);
    await waitFor(() => !isAlive(pids.pid) && !isAlive(pids.grandchild), 3000);
  });

  it('invalid input is a non-retryable InvalidPlanInput failure', async () => {
    const { env, acts } = setup();
    const isInvalidInput = (e: unknown): boolean =>
      e instanceof ApplicationFailure && e.nonRetryable === true && e.type === 'InvalidPlanInput';
    const missing: RunPlanInput = { unit: 'u', workDir: path.join(tmp, 'missing') };
    await expect(env.run(acts.runPlan, missing)).rejects.toSatisfy(isInvalidInput);
    const badMode = { unit: 'u', workDir: stack, mode: 'apply' } as unknown as RunPlanInput;
    await expect(env.run(acts.runPlan, badMode)).rejects.toSatisfy(isInvalidInput);
  });
});

describe('no failure scenario is ever NO_CHANGES', () => {
  it.each<[string, FakeScenario, Partial<RunPlanInput>]>([
    ['plan exit 1', { plan: { exit: 1 } }, {}],
    ['plan exit 3', { plan: { exit: 3 } }, {}],
    ['init exit 1', { init: { exit: 1 } }, {}],
    ['show exit 1', { plan: { exit: 0 }, show: { exit: 1, fixture: noChangesPlanRef() } }, {}],
    ['garbage JSON', { plan: { exit: 0 }, show: { raw: '{"format_version": "1.2", ' } }, {}],
    ['empty show output', { plan: { exit: 0 }, show: { raw: '' } }, {}],
    ['errored plan, exit 0', { plan: { exit: 0 }, show: { fixture: PLAN_ERROR } }, {}],
    [
      'errored plan, refresh-only exit 0',
      { plan: { exit: 0 }, show: { fixture: PLAN_ERROR } },
      { mode: 'refresh-only' },
    ],
    ['lock held', { plan: { lockFailures: 'always' } }, {}],
    ['resource_changes removed, exit 0', { plan: { exit: 0 }, show: { fixture: '@changes-removed' } }, {}],
    ['a repeated key, exit 0', { plan: { exit: 0 }, show: { fixture: '@repeated-key' } }, {}],
    ['not a plan, exit 0', { plan: { exit: 0 }, show: { fixture: '@format-version-only' } }, {}],
  ])('%s', async (_name, scenario, input) => {
    const { result } = await runScenario(resolveRefs(scenario), input);
    expect(result.status).not.toBe('NO_CHANGES');
    expect(['DETECTION_FAILED', 'DETECTION_STALE']).toContain(result.status);
  });
});

// it.each tables are built before beforeAll runs: refer to the derived plan lazily.
function noChangesPlanRef(): string {
  return '@no-changes';
}
function resolveRefs(s: FakeScenario): FakeScenario {
  const derived: Record<string, string> = {
    '@no-changes': noChangesPlan,
    '@changes-removed': changesRemovedPlan,
    '@repeated-key': repeatedKeyPlan,
    '@format-version-only': formatVersionOnly,
  };
  const fixture = s.show?.fixture;
  if (fixture !== undefined && fixture in derived)
    return { ...s, show: { ...s.show, fixture: derived[fixture]! } };
  return s;
}
