import { argoCdDetector } from '../activities/argocd/detector';
import { awsUnmanagedDetector } from '../activities/aws/unmanaged-detector';
import type { AwsActivities } from '../activities/aws';
import { incidentContextSource } from '../activities/context/incidents';
import { k8sAuditSource } from '../activities/context/k8s-audit-source';
import { registryContextSources } from '../activities/context/registry-context';
import type { ContextSource } from '../activities/context/source';
import { gitMatchingChangeSource } from '../activities/git-local/matching-change';
import { githubMatchingChangeSource } from '../activities/github/matching-change';
import { externalSecretsDetector, fluxDetector } from '../activities/kubernetes';
import type { LocalPlanes } from '../activities/local-planes/local-planes';
import type { DetectionStatusRepo } from '../ledger/detection';
import { awsInventoryDetector, localPlanesDetector, redactingDetector, type UnitDetector } from '../activities/scan/detectors';
import { unitTypeDetector, type DetectorName } from '../activities/scan/pick-detectors';
import type { Redactor } from '../domain/redaction';
import path from 'node:path';
import { planDetector } from '../activities/tofu/plan-detector';
import type { EvidenceStore } from '../evidence/evidence-store';
import { loadRegistry, type DriftManagedUnit, type Registry } from '../registry';
import type { Config } from './config';

/** How long a worker keeps a loaded registry before reading it again (a change on disk is seen within this). */
const REGISTRY_TTL_MS = 5_000;

/** The registry, read at most once per {@link REGISTRY_TTL_MS}; an invalid registry reads as undefined (every unit then fails detection, loudly). */
export function cachedRegistry(dir: string, ttlMs = REGISTRY_TTL_MS): () => Promise<Registry | undefined> {
  let at = 0;
  let loading: Promise<Registry | undefined> | undefined;
  return () => {
    if (!loading || Date.now() - at > ttlMs) {
      at = Date.now();
      loading = loadRegistry(dir).then((r) => (r.ok ? r.registry : undefined));
    }
    return loading;
  };
}

/** What the detection parts need from the worker. */
export interface DetectionDeps {
  aws: AwsActivities;
  planes: LocalPlanes;
  redactor: Redactor;
  status: DetectionStatusRepo;
  /** The worker's registry reader (default: one of its own, {@link cachedRegistry}). */
  registry?: () => Promise<Registry | undefined>;
  /** Where the plan detector keeps raw plans (content-addressed artifacts). */
  evidence: EvidenceStore;
  /** The unit's own credentials as a tofu process environment (workers/reconcile-parts.ts). */
  processCredentials: (unit: DriftManagedUnit) => Promise<Record<string, string>>;
  /** Extra adapters (the plan detector, Argo CD), by name. */
  adapters?: Partial<Record<DetectorName, UnitDetector>>;
}

/**
 * The worker's detector (docs/detection.md): every adapter this worker can run, picked per unit by
 * type in one place (activities/scan/pick-detectors.ts), with the context sources the config
 * enables joined into every observation, and every detection redacted on its way out.
 */
export function detectionParts(config: Config, deps: DetectionDeps): { detector: UnitDetector; registry: () => Promise<Registry | undefined>; context: ContextSource[] } {
  const registry = deps.registry ?? cachedRegistry(config.registryDir);
  const kubeconfig = config.reconcile.kubeconfig;
  const clusterFor = (_cluster: string) => (kubeconfig ? { kubeconfigPath: kubeconfig } : undefined);
  const adapters: Partial<Record<DetectorName, UnitDetector>> = {
    'local-planes': localPlanesDetector(deps.planes),
    'aws-inventory': awsInventoryDetector({
      aws: deps.aws,
      registryDir: config.registryDir,
      redactor: deps.redactor,
      ...(config.aws.webIdentityTokenFile ? { webIdentityTokenFile: config.aws.webIdentityTokenFile } : {}),
      ...(config.aws.cloudTrail ? { cloudTrail: config.aws.cloudTrail } : {}),
    }),
    'aws-unmanaged': awsUnmanagedDetector({
      aws: deps.aws,
      registryDir: config.registryDir,
      registry,
      redactor: deps.redactor,
      ...(config.aws.webIdentityTokenFile ? { webIdentityTokenFile: config.aws.webIdentityTokenFile } : {}),
    }),
    plan: planDetector({
      registry,
      tofu: { workRoot: path.join(config.home, 'tofu-work'), redactor: deps.redactor },
      credentialsFor: deps.processCredentials,
      evidence: deps.evidence,
      stateDir: config.detection.planStateDir,
      ...(config.reconcile.stacksDir ? { stacksDir: config.reconcile.stacksDir } : {}),
      binaries: { 'opentofu-stack': config.reconcile.tofuBinary },
      redactor: deps.redactor,
    }),
    argocd: argoCdDetector({ registry, redactor: deps.redactor }),
    flux: fluxDetector({ registry, clusterFor, redactor: deps.redactor }),
    'external-secrets': externalSecretsDetector({ registry, clusterFor, redactor: deps.redactor }),
    ...deps.adapters,
  };
  const lastSuccessAt = async (unit: string) => (await deps.status.read(unit))?.lastSuccessAt;
  const window = config.detection.matchingWindow;
  const context: ContextSource[] = [
    ...(config.detection.k8sAuditLog ? [k8sAuditSource({ path: config.detection.k8sAuditLog })] : []),
    gitMatchingChangeSource({ planesDir: config.planesDir, window, lastSuccessAt }),
    ...(config.github.token ? [githubMatchingChangeSource({ token: () => config.github.token?.() ?? '', ...(config.github.apiUrl ? { apiUrl: config.github.apiUrl } : {}), window, lastSuccessAt })] : []),
    ...(config.detection.pagerDuty?.tokenFile
      ? [incidentContextSource({ kind: 'pagerduty', apiUrl: config.detection.pagerDuty.apiUrl, token: { file: config.detection.pagerDuty.tokenFile } })]
      : config.detection.incidentsFile
        ? [incidentContextSource({ kind: 'file', path: config.detection.incidentsFile })]
        : []),
    ...registryContextSources(),
  ];
  const detector = redactingDetector(unitTypeDetector({ registry, adapters, context }), deps.redactor);
  return { detector, registry, context };
}
