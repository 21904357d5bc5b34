// deploy/kubernetes/ (issue 13 §4): every file parses, every kustomization points at files that
// exist, and, where kubectl is installed, the example overlay is built with kustomize and checked
// as a whole: one worker per credential boundary its registry uses (on the queue of that boundary,
// with its own ServiceAccount and role), the control worker, `serve` and its Service, all from the
// image's own commands, as the image's non-root user, with settings loadConfig accepts.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadRegistry } from '../../registry';
import { loadConfig } from '../../workers/config';
import { repoRoot } from '../support/shared-fixtures';

const root = path.join(repoRoot, 'deploy', 'kubernetes');
const overlay = path.join(root, 'overlays', 'example');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}
const yamlFiles = walk(root).filter((f) => /\.ya?ml$/.test(f));
const kustomizations = yamlFiles.filter((f) => path.basename(f) === 'kustomization.yaml');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: unknown;
  data?: Record<string, string>;
}
interface Container {
  name: string;
  image: string;
  command: string[];
  env?: { name: string; value?: string }[];
  envFrom?: ({ configMapRef?: { name: string } } | { secretRef?: { name: string } })[];
  securityContext?: Record<string, unknown>;
}
interface PodSpec {
  serviceAccountName: string;
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number };
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string } }[];
}
type Deployment = K8sObject & {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
};

describe('deploy/kubernetes files', () => {
  it.each(yamlFiles.map((f) => [path.relative(repoRoot, f), f]))('%s parses', (_rel, file) => {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    for (const d of docs) expect(d.errors, file).toEqual([]);
    if (file.includes(`${path.sep}registry${path.sep}`) || path.basename(file) === 'kustomization.yaml')
      return;
    for (const d of docs) {
      const o = d.toJS() as K8sObject;
      expect(o.apiVersion, file).toBeTruthy();
      expect(o.kind, file).toBeTruthy();
      expect(o.metadata?.name, file).toBeTruthy();
    }
  });

  // What kustomize itself would check first; the only check when kubectl is not installed.
  it.each(kustomizations.map((f) => [path.relative(repoRoot, f), f]))(
    '%s refers to files and folders that exist',
    (_rel, file) => {
      const k = parse(readFileSync(file, 'utf8')) as {
        resources?: string[];
        configMapGenerator?: { files?: string[] }[];
      };
      const dir = path.dirname(file);
      for (const r of k.resources ?? []) {
        const p = path.join(dir, r);
        expect(existsSync(p), `${r} in ${file}`).toBe(true);
        if (statSync(p).isDirectory())
          expect(existsSync(path.join(p, 'kustomization.yaml')), `${r}/kustomization.yaml`).toBe(true);
      }
      for (const g of k.configMapGenerator ?? [])
        for (const f of g.files ?? []) expect(existsSync(path.join(dir, f.split('=').at(-1)!)), f).toBe(true);
    },
  );

  it("the example overlay's registry is valid and uses the boundaries it deploys workers for", async () => {
    const r = await loadRegistry(path.join(overlay, 'registry'));
    expect(r.ok ? [] : r.errors).toEqual([]);
    const boundaries = r.ok
      ? [...r.registry.units.values()].map((u) => (u.spec as { boundary?: string }).boundary)
      : [];
    const folders = readdirSync(path.join(overlay, 'boundaries')).sort();
    expect([...new Set(boundaries)].sort()).toEqual(folders);
  });
});

const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.runIf(kubectl)('the example overlay, built by kustomize (kubectl kustomize)', () => {
  const objects = kubectl
    ? parseAllDocuments(execFileSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' })).map(
        (d) => d.toJS() as K8sObject,
      )
    : [];
  const of = <T extends K8sObject = K8sObject>(kind: string) => objects.filter((o) => o.kind === kind) as T[];
  const deployments = of<Deployment>('Deployment');
  const config = of('ConfigMap').find((c) => c.metadata.name === 'driftplane-config')!;
  const envOf = (c: Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? '']));
  const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
  const imageCmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
  const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
    services: { serve: { command: string[] } };
  };

  it('has the control worker, one worker per boundary, serve and its Service, in one namespace', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([
      'driftplane-serve',
      'driftplane-worker-boundary-aws-111122223333',
      'driftplane-worker-boundary-k8s-prod-euw1-a',
      'driftplane-worker-control',
    ]);
    expect(of('Service').map((s) => s.metadata.name)).toEqual(['driftplane-serve']);
    expect(
      new Set(
        objects
          .filter((o) => o.kind !== 'Namespace')
          .map((o) => (o.metadata as { namespace?: string }).namespace),
      ),
    ).toEqual(new Set(['driftplane']));
  });

  it.each(deployments.map((d) => [d.metadata.name, d] as const))(
    '%s runs the image as its non-root user, checked before it starts',
    (_name, d) => {
      const pod = d.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      const images = [...(pod.initContainers ?? []), ...pod.containers].map((c) => c.image);
      expect(new Set(images)).toEqual(new Set(['registry.example.com/acme/driftplane:0.1.0']));
      const main = pod.containers[0]!;
      expect(pod.initContainers?.[0]?.command).toEqual([
        ...main.command.filter((a) => a !== '--host' && a !== '0.0.0.0'),
        '--check',
      ]);
      if (d.metadata.name === 'driftplane-serve')
        expect(main.command).toEqual(compose.services.serve.command);
      else expect(main.command).toEqual(imageCmd);
      // The selector picks this Deployment's pods only.
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels))
        expect(d.spec.template.metadata.labels[k]).toBe(v);
      const others = deployments.filter((o) => o !== d);
      for (const o of others)
        expect(
          Object.entries(d.spec.selector.matchLabels).every(
            ([k, v]) => o.spec.template.metadata.labels[k] === v,
          ),
        ).toBe(false);
      // The registry ConfigMap the pod mounts exists (kustomize renamed it with its hash).
      const registry = pod.volumes?.find((v) => v.name === 'registry')?.configMap?.name;
      expect(of('ConfigMap').map((c) => c.metadata.name)).toContain(registry);
      expect(of('ServiceAccount').map((s) => s.metadata.name)).toContain(pod.serviceAccountName);
    },
  );

  it.each(
    deployments
      .filter((d) => d.metadata.name !== 'driftplane-serve')
      .map((d) => [d.metadata.name, d] as const),
  )('%s has settings loadConfig accepts, and polls the queues its name says', (name, d) => {
    const main = d.spec.template.spec.containers[0]!;
    const env = {
      ...config.data,
      ...envOf(main),
      DRIFTPLANE_LEDGER_URL: 'postgres://driftplane@postgres:5432/driftplane',
    };
    const c = loadConfig(env);
    const boundary = /boundary-(.*)$/.exec(name)?.[1];
    if (boundary) {
      expect(c.control).toBe(false);
      expect(c.boundaries).toEqual([boundary]);
    } else {
      expect(c.control).toBe(true);
      expect(c.boundaries).toEqual([]);
    }
    expect(c.home).toBe('/var/lib/driftplane');
  });

  it('gives each AWS boundary and the control worker a ServiceAccount with an IRSA role, and serve none', () => {
    const roleOf = (sa: string) =>
      of('ServiceAccount').find((s) => s.metadata.name === sa)?.metadata.annotations?.[
        'eks.amazonaws.com/role-arn'
      ];
    const saOf = (deployment: string) =>
      deployments.find((d) => d.metadata.name === deployment)!.spec.template.spec.serviceAccountName;
    expect(roleOf(saOf('driftplane-worker-control'))).toMatch(
      /^arn:aws:iam::\d{12}:role\/driftplane-control$/,
    );
    expect(roleOf(saOf('driftplane-worker-boundary-aws-111122223333'))).toMatch(
      /^arn:aws:iam::\d{12}:role\/driftplane-boundary-aws-111122223333$/,
    );
    expect(roleOf(saOf('driftplane-worker-boundary-k8s-prod-euw1-a'))).toBeUndefined();
    expect(roleOf(saOf('driftplane-serve'))).toBeUndefined();
    // Each boundary has a ServiceAccount of its own: a unit role trusts exactly one.
    const boundarySAs = deployments
      .filter((d) => d.metadata.name.includes('boundary-'))
      .map((d) => d.spec.template.spec.serviceAccountName);
    expect(new Set(boundarySAs).size).toBe(boundarySAs.length);
  });

  it('serves `serve` on its Service, and keeps every secret out of the ConfigMap', () => {
    const svc = of<K8sObject & { spec: { selector: Record<string, string>; ports: { port: number }[] } }>(
      'Service',
    )[0]!;
    const serve = deployments.find((d) => d.metadata.name === 'driftplane-serve')!;
    for (const [k, v] of Object.entries(svc.spec.selector))
      expect(serve.spec.template.metadata.labels[k]).toBe(v);
    expect(svc.spec.ports[0]!.port).toBe(8787);
    for (const key of Object.keys(config.data ?? {}))
      expect(key).not.toMatch(/SECRET|TOKEN|PASSWORD|_KEY$|LEDGER_URL/);
    for (const d of deployments)
      for (const c of d.spec.template.spec.containers)
        expect(c.envFrom).toContainEqual({ secretRef: { name: 'driftplane-secrets' } });
  });
});
