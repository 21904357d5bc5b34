import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planDetector, type PlanDetectorDeps } from '../../../activities/tofu';
import type { LocalDetection } from '../../../activities/local-planes/local-planes';
import { analyzePlanes } from '../../../domain/classify/planes';
import { EvidenceStore } from '../../../evidence/evidence-store';
import { loadRegistry, type Registry } from '../../../registry';
import {
  bigDriftPlan,
  fakeBinDir,
  fakeTofuPath,
  prepareScenario,
  readInvocations,
  removeScenarios,
  type FakeScenario,
  type PreparedScenario,
} from '../../support/fake-tofu';
import { sharedFixture } from '../../support/shared-fixtures';

const plan = (name: string): string => sharedFixture('tofu', 'plan', name);
const DRIFT_SIMPLE = plan('testing__equivalence-tests__outputs__drift_simple__plan.json');
const DRIFT = plan('internal__command__testdata__show-json__drift__output.json');
const DRIFT_REFRESH_ONLY = plan('testing__equivalence-tests__outputs__drift_refresh_only__plan.json');
const MOVED_WITH_UPDATE = plan('testing__equivalence-tests__outputs__moved_with_update__plan.json');
const REPLACE = plan('testing__equivalence-tests__outputs__simple_object_replace__plan.json');
const LOCAL_UPDATE = plan('testing__equivalence-tests__outputs__local_provider_update__plan.json');
const PLAN_ERROR = plan('internal__command__testdata__show-json__plan-error__output.json');

const NOW = new Date('2026-08-01T10:00:00.000Z');
/** The unit's credentials: they may reach the tofu processes and nothing else. */
const CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'ASIAQXAMPLE7PLANDETECT',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYplandetectorKEY',
  AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEPlanDetectorSessionToken0123456789',
};

let tmp: string;
let registry: Registry;
let evidence: EvidenceStore;
/** Derived at test time from real fixtures. */
let bigPlan: string;
let reencodedLocalUpdate: string;

const STACK_PATH = 'stacks/network';
const repoOf = (unit: string) => path.join(tmp, 'repos', unit);
const stackOf = (unit: string) => path.join(repoOf(unit), STACK_PATH);
const lockOf = (unit: string) => path.join(stackOf(unit), '.terraform.lock.hcl');

function unitYaml(
  name: string,
  o: { type?: string; plan?: string; binary?: string | null; repo?: string } = {},
): string {
  const binary = o.binary === null ? undefined : (o.binary ?? fakeTofuPath());
  const detection = [o.plan ? `    plan: ${o.plan}\n` : '', binary ? `    binary: ${binary}\n` : ''].join('');
  return `apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: ${name}
spec:
  type: ${o.type ?? 'opentofu-stack'}
  owner: payments
  environment: prod
  riskTier: high
  region: eu-west-1
  source:
    repo: ${o.repo ?? `file://${repoOf(name)}`}
    path: ${STACK_PATH}
    revision: main
  state:
    backend: s3
    bucket: acme-tfstate
    key: payments/${name}.tfstate
  credentials:
    roleArn: arn:aws:iam::123456789012:role/driftplane-payments-detect
  approvers:
    - payments
${detection ? `  detection:\n${detection}` : ''}`;
}

const LOCK = (local: string) => `# This file is maintained automatically by "tofu init".
provider "registry.opentofu.org/hashicorp/local" {
  version     = "${local}"
  constraints = "~> 2.4"
  hashes = [
    "h1:local=",
  ]
}
`;

const UNITS: [string, Parameters<typeof unitYaml>[1]][] = [
  ['net', {}],
  ['net-refresh', { plan: 'refresh-only' }],
  ['upgrade', {}],
  ['state-only', { plan: 'off' }],
  ['tg', { type: 'terragrunt-stack', binary: null }],
  ['tf', { type: 'terraform-stack', binary: null }],
  ['no-checkout', { repo: 'github.com/acme/infra' }],
];

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'plan-detector-test-'));
  for (const [name] of UNITS) {
    if (name === 'no-checkout') continue;
    mkdirSync(stackOf(name), { recursive: true });
    writeFileSync(path.join(stackOf(name), 'main.tf'), 'resource "tfcoremock_simple_resource" "drift" {}\n');
  }
  writeFileSync(lockOf('upgrade'), LOCK('2.4.0'));
  const regDir = path.join(tmp, 'registry');
  mkdirSync(regDir);
  writeFileSync(path.join(regDir, 'units.yaml'), UNITS.map(([n, o]) => unitYaml(n, o)).join('---\n'));
  writeFileSync(
    path.join(regDir, 'teams.yaml'),
    `apiVersion: driftplane.io/v1alpha1
kind: Team
metadata:
  name: payments
spec:
  displayName: Payments
  members:
    - email: maria.lopez@acme.example
      name: Maria Lopez
`,
  );
  const loaded = await loadRegistry(regDir);
  if (!loaded.ok) throw new Error(`test registry invalid: ${JSON.stringify(loaded.errors.slice(0, 3))}`);
  registry = loaded.registry;
  evidence = new EvidenceStore(path.join(tmp, 'evidence'));

  // A plan over 2 MB: many resources, few changes (test/support/fake-tofu bigDriftPlan).
  const simple = bigDriftPlan(DRIFT_SIMPLE);
  bigPlan = path.join(tmp, 'big-plan.json');
  writeFileSync(bigPlan, JSON.stringify(simple, null, 2));

  // local_provider_update with its file content re-encoded (the same JSON, spaced): what a new
  // provider reading the same object differently looks like.
  const local = JSON.parse(readFileSync(LOCAL_UPDATE, 'utf8')) as {
    resource_changes: { change: { before: { content: string }; after: { content: string } } }[];
  };
  const c = local.resource_changes[0]!.change;
  c.after.content = JSON.stringify(JSON.parse(c.before.content), null, 2);
  reencodedLocalUpdate = path.join(tmp, 'local-update-reencoded.json');
  writeFileSync(reencodedLocalUpdate, JSON.stringify(local));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  removeScenarios();
});

interface Run {
  detection: LocalDetection;
  scenario: PreparedScenario;
  stateDir: string;
}

async function detect(
  unit: string,
  scenario: FakeScenario,
  deps: Partial<PlanDetectorDeps> = {},
  o: { path?: string; stateDir?: string; now?: Date } = {},
): Promise<Run> {
  const prepared = prepareScenario({ recordEnv: [...Object.keys(CREDENTIALS), 'AWS_REGION'], ...scenario });
  const stateDir = o.stateDir ?? mkdtempSync(path.join(tmp, 'state-'));
  const detector = planDetector({
    registry: () => Promise.resolve(registry),
    tofu: {
      workRoot: path.join(tmp, 'work'),
      spawnEnv: { PATH: o.path ?? process.env.PATH ?? '/usr/bin:/bin', ...prepared.env },
      lockRetry: { maxAttempts: 1 },
      killGraceMs: 300,
    },
    credentialsFor: (u) => Promise.resolve(u.metadata.name === unit ? { ...CREDENTIALS } : {}),
    evidence,
    stateDir,
    ...deps,
  });
  const env = new MockActivityEnvironment(
    { heartbeatTimeoutMs: 5000 },
    { logger: new DefaultLogger('WARN', () => undefined) },
  );
  const detection = (await env.run(() => detector.detect(unit, o.now ?? NOW))) as LocalDetection;
  return { detection, scenario: prepared, stateDir };
}

const ok = (d: LocalDetection) => {
  if (d.status !== 'ok') throw new Error(`expected ok, got failed: ${d.error}`);
  return d;
};

describe('planDetector: findings from real plans', () => {
  it('a drifted plan (drift_simple): one observation, recorded!=actual, the plan JSON in evidence by reference', async () => {
    const { detection, scenario } = await detect('net', {
      plan: { exit: 2 },
      show: { fixture: DRIFT_SIMPLE },
    });
    const d = ok(detection);
    expect(d.observations).toHaveLength(1);
    const o = d.observations[0]!;
    expect(o).toMatchObject({
      unit: 'net',
      resourceRef: 'tfcoremock_simple_resource.drift',
      relationship: 'recorded!=actual',
      changeType: 'modified',
      changedFields: ['/string'],
      detector: 'plan',
      stateBackend: 's3://acme-tfstate/payments/net.tfstate',
      sourceOfTruth: `file://${repoOf('net')}/${STACK_PATH}@main`,
    });
    expect(analyzePlanes({ planes: o.context!.planes!, resourceRef: o.resourceRef }).relationship).toBe(
      o.relationship,
    );
    // The plan is in the evidence store; its reference travels, its bytes do not.
    const [ref, ...more] = o.context!.artifacts!;
    expect(more).toHaveLength(0);
    expect(ref).toMatchObject({
      name: 'plan.json',
      uri: expect.stringMatching(/^evidence:\/\/artifacts\/sha256\/[0-9a-f]{64}$/) as unknown,
    });
    const text = await evidence.readArtifact(ref!);
    expect(createHash('sha256').update(text).digest('hex')).toBe(ref!.sha256);
    expect(Buffer.byteLength(text)).toBe(ref!.bytes);
    expect(JSON.parse(text)).toEqual(JSON.parse(readFileSync(DRIFT_SIMPLE, 'utf8')));
    expect(JSON.stringify(d)).not.toContain('prior_state');
    // init, plan (normal), show, in the stack's working copy.
    const calls = readInvocations(scenario);
    expect(calls.map((c) => c.argv[0])).toEqual(['init', 'plan', 'show']);
    expect(calls[1]!.argv).not.toContain('-refresh-only');
    expect(calls[1]!.files).toContain('main.tf');
    expect(d.resources).toBe(1);
  });

  it('the unit credentials reach the tofu processes only: never the worker env, the result or the evidence', async () => {
    const { detection, scenario } = await detect('net', {
      plan: { exit: 2, echoEnv: ['AWS_SECRET_ACCESS_KEY'] },
      show: { fixture: DRIFT_SIMPLE },
    });
    const calls = readInvocations(scenario);
    expect(calls).toHaveLength(3);
    for (const c of calls) expect(c.env).toEqual({ ...CREDENTIALS, AWS_REGION: 'eu-west-1' });
    for (const k of Object.keys(CREDENTIALS)) expect(process.env[k]).toBeUndefined();
    const text = JSON.stringify(detection);
    const ref = ok(detection).observations[0]!.context!.artifacts![0]!;
    const artifact = await evidence.readArtifact(ref);
    for (const v of Object.values(CREDENTIALS)) {
      expect(text).not.toContain(v);
      expect(artifact).not.toContain(v);
    }
  });

  it('each drifted resource is its own observation with its own relationship (show-json drift)', async () => {
    const d = ok((await detect('net', { plan: { exit: 2 }, show: { fixture: DRIFT } })).detection);
    const rel = Object.fromEntries(d.observations.map((o) => [o.resourceRef, o.relationship]));
    expect(rel).toEqual({
      'test_instance.no_refresh': 'desired!=recorded',
      'test_instance.should_refresh': 'desired!=actual',
    });
    for (const o of d.observations)
      expect(analyzePlanes({ planes: o.context!.planes!, resourceRef: o.resourceRef }).relationship).toBe(
        o.relationship,
      );
  });

  it('moves and replaces carry previousAddress and destructive', async () => {
    const moved = ok(
      (await detect('net', { plan: { exit: 2 }, show: { fixture: MOVED_WITH_UPDATE } })).detection,
    ).observations;
    expect(moved).toHaveLength(1);
    expect(moved[0]!.context).toMatchObject({
      previousAddress: 'tfcoremock_simple_resource.base',
      destructive: false,
    });
    const replaced = ok(
      (await detect('net', { plan: { exit: 2 }, show: { fixture: REPLACE } })).detection,
    ).observations;
    expect(replaced[0]!.context).toMatchObject({ destructive: true });
  });

  it('refresh-only units plan with -refresh-only; their drift is recorded!=actual', async () => {
    const { detection, scenario } = await detect('net-refresh', {
      plan: { exit: 0 },
      show: { fixture: DRIFT_REFRESH_ONLY },
    });
    const d = ok(detection);
    expect(readInvocations(scenario)[1]!.argv).toContain('-refresh-only');
    expect(d.observations.map((o) => [o.resourceRef, o.relationship])).toEqual([
      ['tfcoremock_simple_resource.drift', 'recorded!=actual'],
    ]);
  });

  it('a plan over 2 MB: the JSON goes to evidence, the detection result stays small', async () => {
    expect(statSync(bigPlan).size).toBeGreaterThan(2 * 1024 * 1024);
    const d = ok((await detect('net', { plan: { exit: 2 }, show: { fixture: bigPlan } })).detection);
    expect(d.observations).toHaveLength(21);
    expect(d.resources).toBe(4021);
    expect(new Set(d.observations.map((o) => o.relationship))).toEqual(new Set(['recorded!=actual']));
    const ref = d.observations[0]!.context!.artifacts![0]!;
    expect(ref.bytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(JSON.parse(await evidence.readArtifact(ref))).toEqual(JSON.parse(readFileSync(bigPlan, 'utf8')));
    expect(Buffer.byteLength(JSON.stringify(d))).toBeLessThan(256 * 1024);
  });
});

describe('planDetector: failures are never "no drift"', () => {
  it('an errored plan (plan-error fixture) fails with the reason and keeps the plan JSON', async () => {
    const d = (await detect('net', { plan: { exit: 0 }, show: { fixture: PLAN_ERROR } })).detection;
    expect(d.status).toBe('failed');
    const error = (d as { error: string }).error;
    expect(error).toMatch(
      /^tofu plan \(normal\) of net failed in plan \(DETECTION_FAILED\): the plan errored/,
    );
    const uri = /plan JSON kept as (evidence:\/\/\S+)/.exec(error)?.[1];
    expect(JSON.parse(await evidence.readArtifact(uri!))).toMatchObject({ errored: true });
  });

  it('a plan that exits 1 fails naming the phase and the end of stderr, with secrets scrubbed', async () => {
    const d = (
      await detect('net', {
        plan: {
          exit: 1,
          echoEnv: ['AWS_SECRET_ACCESS_KEY'],
          stderr: '\nError: Reference to undeclared resource\n\n  on main.tf line 3\n',
        },
      })
    ).detection;
    expect(d.status).toBe('failed');
    const error = (d as { error: string }).error;
    expect(error).toContain('failed in plan (DETECTION_FAILED): plan exited with code 1');
    expect(error).toContain('on main.tf line 3');
    expect(error).not.toContain(CREDENTIALS.AWS_SECRET_ACCESS_KEY);
  });

  it('garbage from show -json fails; a state-only unit, a missing checkout or an unknown unit are not this detector and fail to detect', async () => {
    const garbage = (await detect('net', { plan: { exit: 2 }, show: { raw: 'not json' } })).detection;
    expect(garbage).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('show -json printed no valid JSON') as unknown,
    });
    const det = planDetector({
      registry: () => Promise.resolve(registry),
      tofu: { workRoot: path.join(tmp, 'work') },
      evidence,
      stateDir: path.join(tmp, 'state-has'),
    });
    expect(await det.has('net')).toBe(true);
    expect(await det.has('tg')).toBe(true);
    expect(await det.has('state-only')).toBe(false);
    expect(await det.has('no-checkout')).toBe(false);
    expect(await det.has('nobody')).toBe(false);
    expect(await det.detect('no-checkout', NOW)).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('set DRIFTPLANE_STACKS_DIR') as unknown,
    });
    expect(await det.detect('state-only', NOW)).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('detection.plan off') as unknown,
    });
    // With a folder of checkouts, the non-local unit resolves there.
    mkdirSync(path.join(tmp, 'checkouts', 'no-checkout'), { recursive: true });
    const withCheckouts = planDetector({
      registry: () => Promise.resolve(registry),
      tofu: { workRoot: path.join(tmp, 'work') },
      evidence,
      stateDir: path.join(tmp, 'state-has'),
      stacksDir: path.join(tmp, 'checkouts'),
    });
    expect(await withCheckouts.has('no-checkout')).toBe(true);
  });
});

describe('planDetector: binaries by unit type', () => {
  it('terragrunt-stack runs terragrunt and terraform-stack terraform, found on the child PATH, with the same arguments', async () => {
    const bin = fakeBinDir('terragrunt', 'terraform');
    for (const [unit, name] of [
      ['tg', 'terragrunt'],
      ['tf', 'terraform'],
    ] as const) {
      const { detection, scenario } = await detect(
        unit,
        { plan: { exit: 2 }, show: { fixture: DRIFT_SIMPLE } },
        {},
        { path: `${bin}:${process.env.PATH ?? ''}` },
      );
      expect(ok(detection).observations).toHaveLength(1);
      const calls = readInvocations(scenario);
      expect(calls.map((c) => [c.bin, c.argv[0]])).toEqual([
        [name, 'init'],
        [name, 'plan'],
        [name, 'show'],
      ]);
    }
  });
});

describe('planDetector: provider upgrades', () => {
  it('providerUpgrade is set once the lock file versions changed and the diff is representation-only', async () => {
    const stateDir = mkdtempSync(path.join(tmp, 'state-upgrade-'));
    const scenario = { plan: { exit: 2 }, show: { fixture: reencodedLocalUpdate } };
    writeFileSync(lockOf('upgrade'), LOCK('2.4.0'));
    // First detection: no earlier versions to compare with.
    const first = ok((await detect('upgrade', scenario, {}, { stateDir })).detection);
    expect(first.observations[0]!.context!.providerUpgrade).toBeUndefined();
    const recorded = JSON.parse(
      readFileSync(path.join(stateDir, 'plan-detector', 'upgrade.json'), 'utf8'),
    ) as { providers: Record<string, string> };
    expect(recorded.providers).toEqual({ 'registry.opentofu.org/hashicorp/local': '2.4.0' });
    // Same lock: still no upgrade.
    expect(
      ok((await detect('upgrade', scenario, {}, { stateDir })).detection).observations[0]!.context!
        .providerUpgrade,
    ).toBeUndefined();
    // The lock moves to 2.5.0: the representation-only diff is the upgrade's.
    writeFileSync(lockOf('upgrade'), LOCK('2.5.0'));
    const after = ok((await detect('upgrade', scenario, {}, { stateDir })).detection);
    expect(after.observations[0]!.context!.providerUpgrade).toEqual({
      from: 'hashicorp/local 2.4.0',
      to: 'hashicorp/local 2.5.0',
    });
    // The next detection, same lock, within the window: still explained by the upgrade.
    const later = ok(
      (await detect('upgrade', scenario, {}, { stateDir, now: new Date(NOW.getTime() + 3_600_000) }))
        .detection,
    );
    expect(later.observations[0]!.context!.providerUpgrade).toEqual({
      from: 'hashicorp/local 2.4.0',
      to: 'hashicorp/local 2.5.0',
    });
    // After the window it is not.
    const stale = ok(
      (await detect('upgrade', scenario, {}, { stateDir, now: new Date(NOW.getTime() + 8 * 24 * 3_600_000) }))
        .detection,
    );
    expect(stale.observations[0]!.context!.providerUpgrade).toBeUndefined();
  });

  it('a lock change with a real value change is not an upgrade; a failed plan does not move the recorded versions', async () => {
    const stateDir = mkdtempSync(path.join(tmp, 'state-upgrade-real-'));
    writeFileSync(lockOf('upgrade'), LOCK('2.4.0'));
    ok(
      (await detect('upgrade', { plan: { exit: 2 }, show: { fixture: LOCAL_UPDATE } }, {}, { stateDir }))
        .detection,
    );
    writeFileSync(lockOf('upgrade'), LOCK('2.5.0'));
    const failed = (
      await detect('upgrade', { plan: { exit: 1, stderr: 'Error: provider crashed\n' } }, {}, { stateDir })
    ).detection;
    expect(failed.status).toBe('failed');
    const file = path.join(stateDir, 'plan-detector', 'upgrade.json');
    expect(
      (JSON.parse(readFileSync(file, 'utf8')) as { providers: Record<string, string> }).providers,
    ).toEqual({ 'registry.opentofu.org/hashicorp/local': '2.4.0' });
    const real = ok(
      (await detect('upgrade', { plan: { exit: 2 }, show: { fixture: LOCAL_UPDATE } }, {}, { stateDir }))
        .detection,
    );
    expect(real.observations[0]!.changedFields).toEqual(['/content', '/id']);
    expect(real.observations[0]!.context!.providerUpgrade).toBeUndefined();
    expect(existsSync(`${file}.tmp`)).toBe(false);
  });
});
