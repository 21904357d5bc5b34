import type { DetectionCoverage, DriftObservation } from '../../domain/finding';
import type { UnmanagedFinding } from '../../domain/inventory/findings';
import { keylessRedactor, type Redactor } from '../../domain/redaction';
import { loadRegistry, type DriftManagedUnit, type Registry } from '../../registry';
import { awsUnitOf, type UnitDetector } from '../scan/detectors';
import type { AwsActivities } from '.';
import type { AwsUnit, UnitCredentialsSpec } from './config';

/** What the unmanaged-resource detector needs. */
export interface AwsUnmanagedDetectorDeps {
  aws: Pick<AwsActivities, 'scanUnmanagedResources'>;
  /** The registry folder, read again at most every few seconds (a change is seen at the next scan). */
  registryDir: string;
  /** Overrides how the registry is read (the worker's shared loader); undefined: unreadable. */
  registry?: () => Promise<Registry | undefined>;
  /** OIDC token file for units with `credentials.oidcRole` (AssumeRoleWithWebIdentity). */
  webIdentityTokenFile?: string;
  /** Redacts error text and values (default: `[REDACTED]`, no fingerprints). */
  redactor?: Redactor;
}

/** IaC stack types whose recorded state holds AWS resources of their account. */
const STACKS = ['opentofu-stack', 'terraform-stack', 'terragrunt-stack'];
const ROLE_ACCOUNT = /^arn:aws[a-z-]*:iam::(\d{12}):role\//;

/**
 * The AWS account a unit lives in: its `spec.account`, else the account of its role. Undefined for
 * units that are not AWS stacks or accounts.
 */
export function accountOf(unit: DriftManagedUnit): string | undefined {
  const s = unit.spec;
  if (s.type !== 'aws-account' && !STACKS.includes(s.type)) return undefined;
  if (s.account) return s.account;
  const role = s.credentials?.roleArn ?? s.credentials?.oidcRole;
  return role ? ROLE_ACCOUNT.exec(role)?.[1] : undefined;
}

/** True when the unit asks for the account's unmanaged scan (issue 11 §2): aws-account units, and stacks that declare their account. */
function wantsUnmanagedScan(unit: DriftManagedUnit): boolean {
  const s = unit.spec;
  if (s.detection?.unmanaged === false) return false;
  if (s.type === 'aws-account') return accountOf(unit) !== undefined;
  return STACKS.includes(s.type) && s.account !== undefined;
}

/**
 * The one unit that reports an account's unmanaged resources, so each IMPORT candidate opens one
 * finding, not one per unit of the account: the account's `aws-account` unit (the first by name),
 * else the first stack (by name) that declares the account. Undefined when no unit asks.
 */
export function unmanagedReporterFor(registry: Registry, account: string): string | undefined {
  const asking = [...registry.units.values()].filter(
    (u) => wantsUnmanagedScan(u) && accountOf(u) === account,
  );
  const pick = (xs: DriftManagedUnit[]) => xs.map((u) => u.metadata.name).sort()[0];
  return pick(asking.filter((u) => u.spec.type === 'aws-account')) ?? pick(asking);
}

/** The unit's own role as the AWS activities take it (no state needed: an aws-account unit may have none). */
function roleOf(
  unit: DriftManagedUnit,
  webIdentityTokenFile: string | undefined,
): UnitCredentialsSpec | { error: string } {
  const name = unit.metadata.name;
  const c = unit.spec.credentials;
  if (c?.roleArn) return { roleArn: c.roleArn, ...(c.externalId ? { externalId: c.externalId } : {}) };
  if (c?.oidcRole && webIdentityTokenFile) return { roleArn: c.oidcRole, webIdentityTokenFile };
  if (c?.oidcRole)
    return {
      error: `unit ${name} uses an OIDC role but no web identity token file is configured (DRIFTPLANE_AWS_WEB_IDENTITY_TOKEN_FILE)`,
    };
  return { error: `unit ${name} has no AWS role in the registry` };
}

/**
 * Every registered unit of the account whose state records resources, as the scan reads them.
 * A unit of the account whose state the scan cannot read makes this an error: its resources would
 * all look unmanaged. Units without state (`none`, or none declared) record nothing.
 */
export function managingUnitsOf(
  registry: Registry,
  account: string,
  opts: { webIdentityTokenFile?: string },
): { units: AwsUnit[] } | { error: string } {
  const units: AwsUnit[] = [];
  for (const u of [...registry.units.values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    if (accountOf(u) !== account) continue;
    const backend = u.spec.state?.backend;
    if (backend === undefined || backend === 'none') continue;
    const mapped = awsUnitOf(u, opts);
    if ('error' in mapped)
      return { error: `${mapped.error}; without its state every resource it manages would look unmanaged` };
    units.push(mapped.unit);
  }
  return { units };
}

/**
 * The observation of one unmanaged resource: it exists in the cloud (actual) and in no registered
 * state (recorded), so the relationship is `recorded!=actual` and the change `unmanaged`; the
 * decision table's `unmanaged-import` rule makes it STATE_DRIFT / IMPORT. `resourceRef` is
 * `<type>/<cloud id>` (stable across scans); the diff carries the cloud id at `/id`, which the
 * IMPORT executor writes into the import block.
 */
export function unmanagedObservationOf(
  f: UnmanagedFinding,
  ctx: { unit: string; detectedAt: string; sourceOfTruth?: string; redactor?: Redactor },
): DriftObservation {
  const redactor = ctx.redactor ?? keylessRedactor;
  return {
    unit: ctx.unit,
    resourceRef: `${f.type}/${f.resourceId}`,
    resourceType: f.type,
    relationship: f.relationship,
    changeType: 'unmanaged',
    changedFields: ['/'],
    diff: [
      redactor.fieldChange({ path: '/id', kind: 'added', actual: f.resourceId }, f.type),
      ...(f.arn ? [redactor.fieldChange({ path: '/arn', kind: 'added', actual: f.arn }, f.type)] : []),
    ],
    detectedAt: ctx.detectedAt,
    detector: 'aws-unmanaged',
    ...(ctx.sourceOfTruth ? { sourceOfTruth: ctx.sourceOfTruth } : {}),
  };
}

/**
 * The unmanaged-resource detector (issue 11 §2): for an `aws-account` unit, or a stack that
 * declares its `account`, lists the account with the unit's own role and reports every resource
 * no registered unit of the account records as an IMPORT candidate. Every detection carries its
 * coverage: types the scan cannot list or match are not covered, so an account is never reported
 * clean at 100 % when it holds resources the scan cannot read. A listing that failed for a type it
 * matches fails the detection (unknown, never "no unmanaged resources"). Reverts nothing: an
 * import is a PR, never an executor of this detector.
 */
export function awsUnmanagedDetector(deps: AwsUnmanagedDetectorDeps): UnitDetector {
  const redactor = deps.redactor ?? keylessRedactor;
  let cached: { at: number; registry: Promise<Registry | undefined> } | undefined;
  const registry =
    deps.registry ??
    (() => {
      // Read again after a few seconds: a long-running worker sees registry changes at the next scan.
      if (!cached || Date.now() - cached.at > 5_000)
        cached = {
          at: Date.now(),
          registry: loadRegistry(deps.registryDir).then(
            (r) => (r.ok ? r.registry : undefined),
            () => undefined,
          ),
        };
      return cached.registry;
    });
  const opts = deps.webIdentityTokenFile ? { webIdentityTokenFile: deps.webIdentityTokenFile } : {};

  /** The unit, its account and the registry, when this unit reports its account's unmanaged resources. */
  const reporting = async (name: string) => {
    const reg = await registry();
    const unit = reg?.units.get(name);
    if (!reg || !unit || !wantsUnmanagedScan(unit)) return undefined;
    const account = accountOf(unit);
    if (!account || unmanagedReporterFor(reg, account) !== name) return undefined;
    return { reg, unit, account };
  };

  return {
    name: 'aws-unmanaged',
    has: async (unit) => (await reporting(unit)) !== undefined,

    async detect(name, now) {
      const r = await reporting(name);
      if (!r)
        return {
          status: 'failed',
          unit: name,
          error: `${name} does not report an AWS account's unmanaged resources in the registry at ${deps.registryDir}`,
        };
      const role = roleOf(r.unit, deps.webIdentityTokenFile);
      if ('error' in role) return { status: 'failed', unit: name, error: role.error };
      const managing = managingUnitsOf(r.reg, r.account, opts);
      if ('error' in managing)
        return { status: 'failed', unit: name, error: `account ${r.account}: ${managing.error}` };
      let report;
      try {
        report = await deps.aws.scanUnmanagedResources({ units: managing.units, inventoryRole: role });
      } catch (err) {
        return {
          status: 'failed',
          unit: name,
          error: redactor.text(`account ${r.account}: unmanaged scan failed: ${(err as Error).message}`),
        };
      }
      if (report.failures.length > 0) {
        const types = [...new Set(report.failures.map((f) => f.type))].sort().join(', ');
        const first = report.failures[0]!;
        return {
          status: 'failed',
          unit: name,
          error: redactor.text(
            `account ${r.account}: could not list ${types}; first: ${first.code}: ${first.message}`,
          ),
        };
      }
      const coverage: DetectionCoverage | undefined = report.coverage;
      if (!coverage)
        return {
          status: 'failed',
          unit: name,
          error: `account ${r.account}: the unmanaged scan reported no coverage, so what it could not see is unknown`,
        };
      const src = r.unit.spec.source;
      const sourceOfTruth = src ? `${src.repo}/${src.path}@${src.revision}` : undefined;
      const detectedAt = now.toISOString();
      const observations = report.findings.map((f) =>
        unmanagedObservationOf(f, {
          unit: name,
          detectedAt,
          redactor,
          ...(sourceOfTruth ? { sourceOfTruth } : {}),
        }),
      );
      return { status: 'ok', unit: name, observations, resources: coverage.coveredResources, coverage };
    },

    // An unmanaged resource is brought under IaC by an import PR; nothing here reverts it.
    revert: async () => undefined,
  };
}
