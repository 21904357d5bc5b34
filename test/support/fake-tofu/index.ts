import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Absolute path of the fake `tofu` executable (made executable here in case a checkout lost the bit). */
export function fakeTofuPath(): string {
  const p = path.join(__dirname, 'tofu');
  chmodSync(p, 0o755);
  return p;
}

/** One step (init, plan, show, apply or state pull) of a fake tofu scenario; see the header of ./tofu. */
export interface FakeStep {
  exit?: number;
  stderr?: string;
  hang?: boolean;
  ignoreInterrupt?: boolean;
  lockFailures?: number | 'always';
  echoEnv?: string[];
  fixture?: string;
  raw?: string;
  /** apply: whether it changed the state (bumps the serial on success). Default true. */
  changed?: boolean;
}

/** A scenario for the fake tofu. */
export interface FakeScenario {
  init?: FakeStep;
  plan?: FakeStep;
  show?: FakeStep;
  /** `apply` (refresh-only or -replace): writes the backend state with serial + 1 when it changed something. */
  apply?: FakeStep;
  /** `state pull`: prints the backend state (none: nothing), or `raw`. */
  statePull?: FakeStep;
  /** The backend's state before the first apply: a tfstate v4 file (absolute path). */
  state?: { fixture: string };
  recordEnv?: string[];
}

/** A written scenario: the env that selects it, and where the fake logs its invocations and pids. */
export interface PreparedScenario {
  dir: string;
  /** The fake backend's state file (exists once an apply wrote it). */
  stateFile: string;
  env: Record<string, string>;
  logFile: string;
  pidFile: string;
}

const scenarioDirs: string[] = [];

/** Removes every scenario dir written so far (call from afterAll). */
export function removeScenarios(): void {
  for (const dir of scenarioDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Writes a scenario file into a fresh temp dir and returns the env var that selects it. */
export function prepareScenario(scenario: FakeScenario): PreparedScenario {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fake-tofu-'));
  scenarioDirs.push(dir);
  const logFile = path.join(dir, 'invocations.jsonl');
  const pidFile = path.join(dir, 'pids.json');
  const file = path.join(dir, 'scenario.json');
  writeFileSync(file, JSON.stringify({ ...scenario, logFile, pidFile, stateDir: dir }));
  return {
    dir,
    env: { FAKE_TOFU_SCENARIO: file },
    logFile,
    pidFile,
    stateFile: path.join(dir, 'terraform.tfstate'),
  };
}

/** One logged invocation of the fake (see the header of ./tofu). */
export interface FakeInvocation {
  /** The name the fake was run as (`tofu`, or `terragrunt` through a symlink). */
  bin: string;
  argv: string[];
  cwd: string;
  files: string[];
  /** Values of the scenario's `recordEnv` keys. */
  env: Record<string, string | undefined>;
  /** Every environment variable name the process had. */
  envKeys: string[];
}

/** The invocations a scenario logged, in order. */
export function readInvocations(scenario: Pick<PreparedScenario, 'logFile'>): FakeInvocation[] {
  if (!existsSync(scenario.logFile)) return [];
  return readFileSync(scenario.logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FakeInvocation);
}

/**
 * A folder holding the fake under `name` (a symlink), for tests that pick the binary by name from
 * the child's PATH (`terragrunt`, `terraform`). Removed with the scenarios.
 */
export function fakeBinDir(...names: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fake-tofu-bin-'));
  scenarioDirs.push(dir);
  for (const n of names) symlinkSync(fakeTofuPath(), path.join(dir, n));
  return dir;
}

/** True while a process runs; a zombie (killed, not yet reaped) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Polls until `cond` holds, or throws after `ms`. */
export async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A plan over 2 MB, built from a real plan (drift_simple: one drifted resource): its drifted
 * entry replicated `drifted` more times and `unchanged` no-op resources added, which is what a large
 * stack's plan looks like (many resources, few changes). Returns the plan object.
 */
export function bigDriftPlan(driftSimplePlan: string, drifted = 20, unchanged = 4000): unknown {
  type Entry = { address: string; name: string; change: { actions: string[]; before: unknown; after: unknown } };
  const simple = JSON.parse(readFileSync(driftSimplePlan, 'utf8')) as { resource_drift: Entry[]; resource_changes: Entry[] };
  const [drift0] = simple.resource_drift;
  const [change0] = simple.resource_changes;
  if (!drift0 || !change0) throw new Error(`${driftSimplePlan}: expected a drifted and a changed resource`);
  for (let i = 0; i < drifted; i++) {
    simple.resource_drift.push({ ...drift0, address: `tfcoremock_simple_resource.drift_${i}`, name: `drift_${i}` });
    simple.resource_changes.push({ ...change0, address: `tfcoremock_simple_resource.drift_${i}`, name: `drift_${i}` });
  }
  for (let i = 0; i < unchanged; i++) {
    simple.resource_changes.push({ ...change0, address: `tfcoremock_simple_resource.same_${i}`, name: `same_${i}`, change: { ...change0.change, actions: ['no-op'], after: change0.change.before } });
  }
  return simple;
}
