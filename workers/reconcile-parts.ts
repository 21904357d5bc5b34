/**
 * What a worker needs to reconcile (activities/reconcile): PR providers (a local Git repository
 * always; GitHub when GITHUB_TOKEN is set), incident adapters by route, the Kubernetes executors
 * (when a kubeconfig is configured), the OpenTofu executors, and the registry as an IGNORE target.
 */
import { parse as hclParse } from '@cdktf/hcl2json';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { githubPrProvider } from '../activities/github/pr-provider';
import { localGitPrProvider } from '../activities/git-local/pr-provider';
import { incidentAdapterFor } from '../activities/incident';
import type { IncidentOpener } from '../activities/lifecycle';
import type { PolicySource } from '../activities/lifecycle/registry-policy';
import { kubeConfigFor } from '../activities/kubernetes/kube-config';
import { restartConsumers } from '../activities/kubernetes/restart-consumers';
import { revertToDesired } from '../activities/kubernetes/revert-to-desired';
import type { LocalPlanes } from '../activities/local-planes/local-planes';
import { readDesiredObject } from '../activities/reconcile/desired-state';
import { createReconcileExecutors, type KubernetesExecutors, type TofuExecutors } from '../activities/reconcile/executors';
import type { PrProvider } from '../activities/reconcile/pr-provider';
import type { UnitDetector } from '../activities/scan/detectors';
import { exceptionDocument, lintExceptionAgainst } from '../domain/reconcile/ignore-exception';
import { migrationSkeleton } from '../domain/reconcile/migration';
import { loadRegistry } from '../registry';
import { assumeUnitRole } from '../activities/aws/credentials';
import { StackCheckoutNotConfigured, unitWorkdirOf } from '../activities/tofu/unit-workdir';
import type { AwsActivitiesConfig } from '../activities/aws/config';
import { awsIdentityOf } from '../activities/scan/detectors';
import { createTofuApplyActivities } from '../activities/tofu/apply';
import { ApplicationFailure } from '@temporalio/common';
import path from 'node:path';
import type { DriftManagedUnit } from '../domain/registry/schemas';
import type { DriftClass } from '../domain/classify/vocabulary';
import type { Config } from './config';

/**
 * The kubeconfig's context names: one per cluster the worker can reach. Only `contexts[].name`
 * counts (a cluster or user entry of the same name is not a context `kubeConfigFor` can select).
 */
function kubeContexts(file: string): string[] {
  try {
    const doc = parseYaml(readFileSync(file, 'utf8')) as { contexts?: unknown } | null;
    const contexts = Array.isArray(doc?.contexts) ? (doc.contexts as unknown[]) : [];
    return contexts.map((c) => (c as { name?: unknown } | null)?.name).filter((n): n is string => typeof n === 'string' && n !== '');
  } catch {
    return [];
  }
}

/**
 * The OpenTofu executors (STATE_REFRESH, DESTROY_RECREATE): `tofu apply` in a working copy of the
 * unit's stack, with the unit's own AWS role as the process's only credentials. The stack comes
 * from a local Git repository (`source.repo: file:///…`) or a checkout under DRIFTPLANE_STACKS_DIR.
 */
export function tofuExecutors(config: Config, aws: AwsActivitiesConfig): TofuExecutors {
  const stackDir = (unit: DriftManagedUnit): string => {
    try {
      return unitWorkdirOf(unit, { ...(config.reconcile.stacksDir ? { stacksDir: config.reconcile.stacksDir } : {}) }).workDir;
    } catch (err) {
      if (err instanceof StackCheckoutNotConfigured) throw ApplicationFailure.nonRetryable(err.message, 'StackCheckoutNotConfigured');
      throw err;
    }
  };
  const units = new Map<string, DriftManagedUnit>();
  const credentials = unitProcessCredentials(config, aws);
  const applies = createTofuApplyActivities({
    workRoot: path.join(config.home, 'tofu-work'),
    credentialsFor: async (name) => {
      const unit = units.get(name);
      return unit ? credentials(unit) : {};
    },
  });
  const base = (unit: DriftManagedUnit) => {
    units.set(unit.metadata.name, unit);
    return { unit: unit.metadata.name, workDir: stackDir(unit), binary: config.reconcile.tofuBinary };
  };
  return {
    async refreshOnly({ unit }) {
      const r = await applies.runRefreshOnlyApply(base(unit));
      return { ...(r.serialBefore !== null ? { serialBefore: r.serialBefore } : {}), ...(r.serialAfter !== null ? { serialAfter: r.serialAfter } : {}), output: r.output, exitCode: r.exitCode, stateChanged: r.stateChanged };
    },
    async replace({ unit, address }) {
      const r = await applies.runReplaceApply({ ...base(unit), address });
      return { output: r.output, exitCode: r.exitCode, ...(r.serialAfter !== null ? { serialAfter: r.serialAfter } : {}) };
    },
  };
}

/**
 * The environment of a tofu process for a unit: the unit's own assumed role as its only AWS
 * credentials (never the worker's), or nothing for a unit without credentials. Shared by the plan
 * detector and the state executors.
 */
export function unitProcessCredentials(config: Config, aws: AwsActivitiesConfig): (unit: DriftManagedUnit) => Promise<Record<string, string>> {
  return async (unit) => {
    if (!unit.spec.credentials?.roleArn && !unit.spec.credentials?.oidcRole) return {};
    // The role alone: a stack's state may live in any backend tofu supports.
    const mapped = awsIdentityOf(unit, { ...(config.aws.webIdentityTokenFile ? { webIdentityTokenFile: config.aws.webIdentityTokenFile } : {}) });
    if ('error' in mapped) throw ApplicationFailure.nonRetryable(mapped.error, 'UnitCredentialsInvalid');
    return (await assumeUnitRole(aws, mapped.identity)).processEnv();
  };
}

/** Builds the reconcile executors, PR providers and incident opener for a worker. */
export function reconcileWorkerParts(
  config: Config,
  deps: { policy: PolicySource; detector: UnitDetector; planes: LocalPlanes; tofu?: TofuExecutors; env?: NodeJS.ProcessEnv },
) {
  const localGit = localGitPrProvider();
  const token = config.github.token?.();
  const github = token ? githubPrProvider({ token, ...(config.github.apiUrl ? { apiUrl: config.github.apiUrl } : {}) }) : undefined;
  const githubHosts = config.github.apiUrl ? [new URL(config.github.apiUrl).host.replace(/^api\./, '')] : [];
  const prProviders: Partial<Record<'github' | 'local-git', PrProvider>> = { 'local-git': localGit, ...(github ? { github } : {}) };

  let kubernetes: KubernetesExecutors | undefined;
  const kubeconfig = config.reconcile.kubeconfig;
  if (kubeconfig) {
    const configFor = (cluster: string) => kubeConfigFor({ cluster, kubeconfigPath: kubeconfig, context: cluster });
    kubernetes = {
      has: (cluster) => kubeContexts(kubeconfig).includes(cluster),
      restartConsumers: (i) => restartConsumers({ kubeConfig: configFor(i.cluster), namespace: i.namespace, secretName: i.secretName, at: i.at, findingId: i.findingId }),
      revertToDesired: (i) => revertToDesired({ kubeConfig: configFor(i.cluster), desired: i.desired, findingId: i.findingId }),
    };
  }

  const executors = createReconcileExecutors({
    unitContext: (name) => {
      if (!deps.policy.unitContext) throw new Error('the policy source cannot name units');
      return deps.policy.unitContext(name);
    },
    desiredRepo: (unit) => deps.planes.desiredRepo(unit),
    detector: deps.detector,
    repos: { localGit, ...(github ? { github } : {}), githubHosts },
    editors: { hclParse: (fileName, text) => hclParse(fileName, text) as Promise<Record<string, unknown>>, desiredObject: readDesiredObject },
    ...(kubernetes ? { kubernetes } : {}),
    ...(deps.tofu ? { tofu: deps.tofu } : {}),
    ...(config.reconcile.registryRepo ? { registryRepo: config.reconcile.registryRepo } : {}),
    async lintException(doc) {
      const loaded = await loadRegistry(config.registryDir);
      if (!loaded.ok) return [`the registry at ${config.registryDir} is invalid (${loaded.errors.length} problem(s)); fix it before adding an exception`];
      return lintExceptionAgainst(loaded.registry, doc, { now: new Date() }).filter((p) => /^error\b/.test(p));
    },
    exceptionDocument: (i) => exceptionDocument(i),
    migrationSkeleton: ({ database, driftClass, ...i }) => migrationSkeleton({ ...i, driftClass: driftClass as DriftClass, ...(database ? { unitDomain: 'database' } : {}) }),
    temporalUiUrl: (findingId) => (config.reconcile.temporalUiUrl ? `${config.reconcile.temporalUiUrl}/namespaces/${config.namespace}/workflows/finding:${encodeURIComponent(findingId)}` : undefined),
    clock: () => new Date(),
  });

  const incidents: IncidentOpener = async (i) => {
    const adapter = incidentAdapterFor(i.target, { ...(deps.env ? { env: deps.env } : {}) });
    const { target: _target, ...input } = i;
    return adapter.open(input);
  };

  return { executors, prProviders, incidents };
}
