// Loads and validates a generated 10,000-unit registry, and compares it with parsing the same
// files with `yaml` alone (read + parseAllDocuments + toJS). Target: ratio <= 2x.
// Run: npx tsx bench/registry.bench.ts [units]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseAllDocuments } from 'yaml';
import { listRegistryFiles, loadRegistry } from '../registry';

const unitCount = Number(process.argv[2] ?? 10_000);
const perFile = 100;
const teamCount = 200;
const tiers = ['critical', 'high', 'standard', 'low'] as const;
const now = new Date('2026-11-24T12:00:00Z');

function team(i: number): string {
  return `apiVersion: driftplane.io/v1alpha1
kind: Team
metadata:
  name: team-${i}
spec:
  slackChannel: "#team-${i}"
  members:
    - email: lead-${i}@example.com
      slackUserId: U${String(i).padStart(6, '0')}
      githubLogin: lead-${i}
    - email: dev-${i}@example.com
  approverGroups:
    - name: team-${i}-approvers
      members: [lead-${i}@example.com]
`;
}

function unit(i: number): string {
  const t = i % teamCount;
  const tier = tiers[i % tiers.length];
  const k8s = i % 2 === 0;
  const env = i % 3 === 0 ? 'prod' : 'staging';
  const common = `apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: unit-${i}
  labels:
    team: team-${t}
spec:
  owner: team-${t}
  environment: ${env}
  riskTier: ${tier}
  approvers: [team-${t}-approvers]
  labels:
    workload: stateless
    shard: "${i % 16}"
  evidence:
    retention: 7y
`;
  if (k8s)
    return `${common}  type: argocd-app
  domain: app
  cluster: cluster-${i % 12}
  namespaces: [ns-${t}]
  source:
    repo: github.com/example/gitops
    path: apps/unit-${i}/overlays/${env}
  state:
    backend: argocd
  policies:
    autoHeal: false
    requireIncidentForManualChange: ${env === 'prod'}
`;
  return `${common}  type: opentofu-stack
  domain: compute
  region: eu-west-1
  source:
    repo: github.com/example/infra-live
    path: ${env}/eu-west-1/unit-${i}
  state:
    backend: s3
    bucket: example-tfstate
    key: ${env}/eu-west-1/unit-${i}/terraform.tfstate
  credentials:
    oidcRole: arn:aws:iam::123456789012:role/drift-unit-${i}
    sessionTags:
      drift-unit: unit-${i}
  schedule:
    frequency: ${tier === 'critical' ? '15m' : 'hourly'}
  policies:
    autoHeal: false
    requireIncidentForManualChange: true
`;
}

const policies = `apiVersion: driftplane.io/v1alpha1
kind: AutoHealPolicy
metadata:
  name: stateless-app-safe-fields
spec:
  appliesTo:
    units: { types: [argocd-app], environments: [staging], matchLabels: { workload: stateless } }
  allowedPaths: [/metadata/labels, /metadata/annotations, /spec/template/spec/containers/*/resources]
  deniedPaths: [/spec/template/spec/containers/*/image]
  maxObjectsPerReconcile: 5
---
apiVersion: driftplane.io/v1alpha1
kind: DriftOwnershipRule
metadata:
  name: deployment-runtime-owned-fields
spec:
  resource: { group: apps, kind: Deployment }
  runtimeOwned: [/status, /metadata/managedFields]
  controllerOwned: [{ path: /spec/replicas, owner: horizontal-pod-autoscaler, condition: hpa-enabled }]
---
apiVersion: driftplane.io/v1alpha1
kind: RoutingPolicy
metadata:
  name: owners
spec:
  routes:
    - match: { environment: prod, severity: [high, critical] }
      notify: [{ type: owner }]
      createIssue: true
    - notify: [{ type: owner }]
`;

function generate(dir: string): void {
  mkdirSync(path.join(dir, 'units'), { recursive: true });
  writeFileSync(
    path.join(dir, 'teams.yaml'),
    Array.from({ length: teamCount }, (_, i) => team(i)).join('---\n'),
  );
  writeFileSync(path.join(dir, 'policies.yaml'), policies);
  for (let f = 0; f * perFile < unitCount; f++) {
    const docs: string[] = [];
    for (let i = f * perFile; i < Math.min(unitCount, (f + 1) * perFile); i++) docs.push(unit(i));
    writeFileSync(path.join(dir, 'units', `units-${String(f).padStart(4, '0')}.yaml`), docs.join('---\n'));
  }
}

async function yamlOnly(dir: string): Promise<number> {
  const files = await listRegistryFiles(dir);
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  let docs = 0;
  for (const t of texts)
    for (const d of parseAllDocuments(t) as unknown as { toJS(): unknown }[]) if (d.toJS() !== null) docs++;
  return docs;
}

async function registry(dir: string): Promise<number> {
  const r = await loadRegistry(dir, { now });
  if (!r.ok)
    throw new Error(
      `generated registry is invalid: ${r.errors
        .slice(0, 3)
        .map((e) => `${e.file}:${e.line} ${e.message}`)
        .join('; ')}`,
    );
  return r.registry.units.size;
}

async function time(fn: () => Promise<number>): Promise<{ ms: number; n: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const t0 = performance.now();
  const n = await fn();
  return { ms: performance.now() - t0, n };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'driftplane-registry-bench-'));
  try {
    generate(dir);
    // Warm up both paths (JIT, file cache), then alternate runs so both see the same machine noise.
    await yamlOnly(dir);
    await registry(dir);
    const base: number[] = [];
    const full: number[] = [];
    let units = 0;
    let docs = 0;
    for (let i = 0; i < 5; i++) {
      const b = await time(() => yamlOnly(dir));
      const r = await time(() => registry(dir));
      base.push(b.ms);
      full.push(r.ms);
      docs = b.n;
      units = r.n;
    }
    const b = median(base);
    const r = median(full);
    const ratio = r / b;
    process.stdout.write(
      `registry: ${units} units (${docs} documents) loaded and validated in ${r.toFixed(0)} ms (median of 5)\n` +
        `baseline: yaml parseAllDocuments + toJS of the same files in ${b.toFixed(0)} ms\n` +
        `ratio: ${ratio.toFixed(2)}x (target <= 2x) ${ratio <= 2 ? 'OK' : 'OVER TARGET'}\n`,
    );
    if (ratio > 2) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
