// Benchmark of the Argo CD detector: scanning one application with 2,000 managed resources served by
// the local Argo CD API stand-in (test/support/argocd-api-server.ts, HTTP on 127.0.0.1), against
// JSON.parse of the same responses, measured in the same process on the same bytes.
//
// The resources are the real util/argo Deployment pair of ../shared/fixtures/argocd (desired replicas
// 3; live replicas 2, written by kube-controller-manager; revisionHistoryLimit applied by another
// manager) under 2,000 names in 20 namespaces, every one modified, a quarter also with an image
// changed in Git: the worst case, where every resource is parsed, compared and classified by owner.
//
// Figures: the scan (two GETs, parsing, diffManifests per resource, ownership split, redaction) vs
//   - baseline A: JSON.parse of both response bodies and of every JSON-encoded *State string inside
//     them (what reading the responses completely takes); target ≤ 3×;
//   - baseline B: JSON.parse of the two bodies only (the *States left as strings), for reference.
//
// Run: npx tsx bench/argocd.bench.ts [--resources N]   (or `npm run bench argocd`)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { argoCdDetector } from '../activities/argocd/detector';
import { loadRegistry } from '../registry';
import { argoCdFixture, resourceDiffOf, startArgoCdApiServer } from '../test/support/argocd-api-server';

const REPEATS = 11;
const TARGET = 3;
const TOKEN = 'bench-token-0123456789abcdef';
const arg = process.argv.indexOf('--resources');
const N = arg > 0 ? Number(process.argv[arg + 1]) : 2_000;

type Obj = Record<string, unknown>;

function buildApp(n: number): { app: Obj; items: Obj[] } {
  const desiredBase = argoCdFixture('util__argo__testdata__desired_deployment.yaml');
  const liveBase = argoCdFixture('util__argo__testdata__live_deployment_with_managed_replica.yaml');
  const app = argoCdFixture('controller__testdata__diff-cache.yaml');
  const items: Obj[] = [];
  const resources: Obj[] = [];
  for (let i = 0; i < n; i++) {
    const name = `web-${String(i).padStart(4, '0')}`;
    const namespace = `team-${i % 20}`;
    const desired = structuredClone(desiredBase);
    const live = structuredClone(liveBase);
    for (const o of [desired, live]) Object.assign(o.metadata as Obj, { name, namespace });
    (live.metadata as Obj).uid = `f67c43b2-88a8-43aa-ba74-${String(i).padStart(12, '0')}`;
    (live.metadata as Obj).resourceVersion = String(5801428 + i);
    if (i % 4 === 0) {
      const containers = ((desired.spec as Obj).template as { spec: { containers: Obj[] } }).spec.containers;
      containers[0]!.image = `quay.io/argoprojlabs/argocd-e2e-container:0.${2 + (i % 7)}`;
    }
    items.push(resourceDiffOf({ desired, live, modified: true }));
    resources.push({
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
      namespace,
      name,
      status: 'OutOfSync',
      health: { status: 'Healthy' },
    });
  }
  const status = app.status as Obj;
  status.sync = { ...(status.sync as Obj), status: 'OutOfSync' };
  status.resources = resources;
  return { app, items };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const server = await startArgoCdApiServer({ token: TOKEN });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'argocd-bench-'));
  try {
    const { app, items } = buildApp(N);
    server.setApplication(app, items);
    writeFileSync(
      path.join(dir, 'registry.yaml'),
      `apiVersion: driftplane.io/v1alpha1
kind: Team
metadata: { name: web }
spec: { displayName: Web, members: [{ email: web@acme.example, name: Web }] }
---
apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata: { name: velero-test }
spec:
  type: argocd-app
  owner: web
  environment: prod
  riskTier: high
  source: { repo: github.com/foo/manifests-velero, path: instances/test, revision: main }
  state: { backend: argocd }
  schedule: { frequency: 15m }
  policies: { autoHeal: false, requireIncidentForManualChange: false }
  evidence: { retention: 7y }
  approvers: [web]
  gitops: { server: '${server.url}', namespace: argo-cd }
  credentials: { token: { env: ARGOCD_BENCH_TOKEN } }
`,
    );
    const loaded = await loadRegistry(dir);
    if (!loaded.ok) throw new Error(`bench registry invalid: ${JSON.stringify(loaded.errors.slice(0, 2))}`);
    const registry = loaded.registry;
    const detector = argoCdDetector({
      registry: () => Promise.resolve(registry),
      env: { ARGOCD_BENCH_TOKEN: TOKEN },
    });

    // The bytes the server answers, fetched once for the baselines.
    const get = async (p: string) =>
      (
        await fetch(`${server.url}${p}?appNamespace=argo-cd`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).text();
    const appBody = await get('/api/v1/applications/velero-test');
    const managedBody = await get('/api/v1/applications/velero-test/managed-resources');
    const bytes = Buffer.byteLength(appBody) + Buffer.byteLength(managedBody);

    const parseFull = (): number => {
      let n = 0;
      const a = JSON.parse(appBody) as Obj;
      const m = JSON.parse(managedBody) as { items: Record<string, string>[] };
      n += a.status ? 1 : 0;
      for (const it of m.items)
        for (const f of ['targetState', 'liveState', 'normalizedLiveState', 'predictedLiveState'])
          if (it[f] !== undefined) n += JSON.parse(it[f]!) ? 1 : 0;
      return n;
    };
    const parseOuter = (): number =>
      ((JSON.parse(appBody) as Obj).status ? 1 : 0) +
      (JSON.parse(managedBody) as { items: unknown[] }).items.length;
    const transfer = async (): Promise<number> => {
      const [a, m] = await Promise.all(
        ['/api/v1/applications/velero-test', '/api/v1/applications/velero-test/managed-resources'].map(
          async (p) =>
            (
              await fetch(`${server.url}${p}?appNamespace=argo-cd`, {
                headers: { authorization: `Bearer ${TOKEN}` },
              })
            ).arrayBuffer(),
        ),
      );
      return a!.byteLength + m!.byteLength;
    };
    let observations = 0;
    const scan = async (): Promise<void> => {
      const d = await detector.detect('velero-test', new Date());
      if (d.status !== 'ok') throw new Error(`scan failed: ${d.error}`);
      observations = d.observations.length;
    };

    // Warm up each side, then alternate them.
    await scan();
    parseFull();
    parseOuter();
    const tScan: number[] = [];
    const tFull: number[] = [];
    const tOuter: number[] = [];
    const tTransfer: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      (globalThis as { gc?: () => void }).gc?.();
      let t = performance.now();
      await scan();
      tScan.push(performance.now() - t);
      (globalThis as { gc?: () => void }).gc?.();
      t = performance.now();
      parseFull();
      tFull.push(performance.now() - t);
      t = performance.now();
      parseOuter();
      tOuter.push(performance.now() - t);
      t = performance.now();
      await transfer();
      tTransfer.push(performance.now() - t);
    }
    const scanMs = median(tScan);
    const fullMs = median(tFull);
    const outerMs = median(tOuter);
    const invalid = server.invalid().length;
    console.log(
      `argocd scan: ${N} managed resources, ${(bytes / 1e6).toFixed(1)} MB of responses, ${observations} observations; ${invalid} invalid request(s)`,
    );
    console.log(
      `  scan (HTTP + parse + diff + ownership + redaction): ${scanMs.toFixed(1)} ms median of ${REPEATS}`,
    );
    console.log(
      `  baseline A, JSON.parse of the responses and their *State documents: ${fullMs.toFixed(1)} ms`,
    );
    console.log(`  baseline B, JSON.parse of the two bodies only: ${outerMs.toFixed(1)} ms`);
    console.log(
      `  (of the scan, the loopback transfer of the two answers alone: ${median(tTransfer).toFixed(1)} ms)`,
    );
    const ratio = scanMs / fullMs;
    console.log(
      `  ratio scan / baseline A: ${ratio.toFixed(2)}× (target ≤ ${TARGET}×) ${ratio <= TARGET ? 'OK' : 'OVER TARGET'}`,
    );
    console.log(`  ratio scan / baseline B: ${(scanMs / outerMs).toFixed(2)}× (reference)`);
    if (invalid > 0) process.exitCode = 1;
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
