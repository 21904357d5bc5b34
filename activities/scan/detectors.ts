import type { DriftObservation } from '../../domain/finding';
import { inventoryReportCoverage } from '../../domain/inventory/coverage';
import { keylessRedactor, type Redactor } from '../../domain/redaction';
import type { AuditCorrelation } from '../../domain/audit/correlate';
import type { ChangedFinding, DeletedFinding } from '../../domain/inventory/findings';
import { breakGlassRolesFor, loadRegistry, type DriftManagedUnit, type Registry } from '../../registry';
import type { AwsActivities, AwsUnit, CloudTrailSource } from '../aws';
import type { UnitIdentitySpec } from '../aws/credentials';
import type { LocalDetection, LocalPlanes } from '../local-planes/local-planes';

/** The result of a reconcile executor: whether it changed anything, and what it did. */
export interface ExecutorResult {
  executed: boolean;
  detail: string;
}

/** A detector (and, where one exists, a revert executor) for the units it knows. */
export interface UnitDetector {
  /** The detector's name, as observations carry it. */
  readonly name: string;
  /** True when this detector can observe the unit. */
  has(unit: string): Promise<boolean>;
  /** Detects the unit's drift. "failed" is never "no drift". */
  detect(unit: string, now: Date): Promise<LocalDetection>;
  /**
   * Detects one observed resource again (verification), reading only what it needs: a detection
   * whose observations concern that resource alone. Optional: without it, verification detects the
   * whole unit. "failed" is never "no drift".
   */
  detectResource?(o: DriftObservation, now: Date): Promise<LocalDetection>;
  /** Reverts one observed resource to its source of truth, idempotently by `key`; undefined when no executor covers it. */
  revert(o: DriftObservation, key: string, now: Date): Promise<ExecutorResult | undefined>;
}

/** The local-planes detector (manifest folders: the demo's Argo CD-style apps) as a UnitDetector. */
export function localPlanesDetector(planes: LocalPlanes): UnitDetector {
  return {
    name: 'local-planes',
    has: (unit) => planes.has(unit),
    detect: (unit, now) => planes.detect(unit, now),
    detectResource: (o, now) => planes.detectResource(o.unit, o.resourceRef, now),
    async revert(o, key, now) {
      const r = await planes.revert(o.unit, o.resourceRef, key, now);
      return { executed: true, detail: r.detail };
    },
  };
}

/**
 * A detector whose every detection is redacted once more on its way out (observations and error
 * text), whatever the inner detector did: the boundary every observation crosses before it reaches
 * a workflow input, a history event or evidence. Idempotent on values already redacted.
 */
export function redactingDetector(inner: UnitDetector, redactor: Redactor): UnitDetector {
  const redacted = (d: LocalDetection): LocalDetection =>
    d.status === 'ok' ? { ...d, observations: d.observations.map((o) => redactor.observation(o)) } : { ...d, error: redactor.text(d.error) };
  const one = inner.detectResource?.bind(inner);
  return {
    name: inner.name,
    has: (unit) => inner.has(unit),
    detect: async (unit, now) => redacted(await inner.detect(unit, now)),
    ...(one ? { detectResource: async (o: DriftObservation, now: Date) => redacted(await one(o, now)) } : {}),
    revert: (o, key, now) => inner.revert(o, key, now),
  };
}

/**
 * Routes each unit to the first detector that knows it (manifest units to local planes, AWS
 * stacks to the inventory scan). A unit no detector knows fails detection: never "no drift".
 */
export function routeDetectors(detectors: UnitDetector[]): UnitDetector & { detectorFor(unit: string): Promise<UnitDetector | undefined> } {
  const detectorFor = async (unit: string) => {
    for (const d of detectors) if (await d.has(unit)) return d;
    return undefined;
  };
  return {
    name: detectors.map((d) => d.name).join('+'),
    detectorFor,
    has: async (unit) => (await detectorFor(unit)) !== undefined,
    async detect(unit, now) {
      const d = await detectorFor(unit);
      return d ? d.detect(unit, now) : { status: 'failed', unit, error: `no detector can observe ${unit}` };
    },
    async detectResource(o, now) {
      const d = await detectorFor(o.unit);
      if (!d) return { status: 'failed', unit: o.unit, error: `no detector can observe ${o.unit}` };
      return d.detectResource ? d.detectResource(o, now) : d.detect(o.unit, now);
    },
    async revert(o, key, now) {
      return (await detectorFor(o.unit))?.revert(o, key, now);
    },
  };
}

/** What the AWS inventory detector needs. */
export interface AwsInventoryDetectorDeps {
  aws: Pick<AwsActivities, 'scanUnitInventory' | 'correlateAuditEvents' | 'revertSecurityGroup'>;
  registryDir: string;
  /** OIDC token file for units with `credentials.oidcRole` (AssumeRoleWithWebIdentity). */
  webIdentityTokenFile?: string;
  /** CloudTrail logs to name the actor of each change (a folder, or the trail's S3 prefix). */
  cloudTrail?: CloudTrailSource;
  /** Replaces secrets in the recorded and actual values of every change (default: `[REDACTED]`, no fingerprints). */
  redactor?: Redactor;
}

/** Unit types whose recorded state is a tfstate the inventory scan reads. */
const AWS_STACK_TYPES = ['opentofu-stack', 'terraform-stack', 'terragrunt-stack'];

const ACTOR_TYPES: Record<AuditCorrelation['actorType'], NonNullable<DriftObservation['auditCorrelation']>['actor']['type']> = {
  human: 'human',
  'break-glass': 'break-glass',
  'ci-iac': 'ci',
  'aws-service': 'controller',
  unknown: 'unknown',
};

/**
 * The unit's own AWS identity: its role (and external id, or the worker's OIDC token file for an
 * `oidcRole`), as STS assumes it. A unit without a usable role gets a reason instead.
 */
export function awsIdentityOf(unit: DriftManagedUnit, opts: { webIdentityTokenFile?: string }): { identity: UnitIdentitySpec } | { error: string } {
  const name = unit.metadata.name;
  const { credentials } = unit.spec;
  if (!credentials || (!credentials.roleArn && !credentials.oidcRole)) return { error: `unit ${name} has no AWS role in the registry (credentials.roleArn or credentials.oidcRole)` };
  let creds: AwsUnit['credentials'];
  if (credentials.roleArn) creds = { roleArn: credentials.roleArn, ...(credentials.externalId ? { externalId: credentials.externalId } : {}) };
  else if (opts.webIdentityTokenFile) creds = { roleArn: credentials.oidcRole as string, webIdentityTokenFile: opts.webIdentityTokenFile };
  else return { error: `unit ${name} uses an OIDC role but no web identity token file is configured (DRIFTPLANE_AWS_WEB_IDENTITY_TOKEN_FILE)` };
  return { identity: { name, owner: unit.spec.owner, environment: unit.spec.environment, credentials: creds } };
}

/**
 * The registry unit as the AWS inventory activities take it: its own role ({@link awsIdentityOf})
 * and its state location. A unit whose credentials or state the scan cannot use gets a reason
 * instead: a failed detection.
 */
export function awsUnitOf(unit: DriftManagedUnit, opts: { webIdentityTokenFile?: string }): { unit: AwsUnit } | { error: string } {
  const identity = awsIdentityOf(unit, opts);
  if ('error' in identity) return identity;
  const { state } = unit.spec;
  let location: AwsUnit['state'];
  if (state?.backend === 's3' && state.bucket && state.key) location = { backend: 's3', bucket: state.bucket, key: state.key, ...(state.region ? { region: state.region } : {}) };
  else if (state?.backend === 'local' && (state.path ?? state.key)) location = { backend: 'local', path: (state.path ?? state.key) as string };
  else return { error: `unit ${unit.metadata.name}: the inventory scan reads s3 or local tfstate, not backend ${state?.backend ?? 'none'}` };
  return { unit: { ...identity.identity, state: location } };
}

/**
 * The observation of one inventory finding. The comparison ran on raw values; each change's
 * values are redacted here, with the change's path and the resource type as context, before the
 * observation leaves the detector.
 */
export const observationOf = (
  f: ChangedFinding | DeletedFinding,
  ctx: { stateSource: string; sourceOfTruth?: string; detectedAt: string; audit?: AuditCorrelation; redactor?: Redactor },
): DriftObservation => ({
  unit: f.unit,
  resourceRef: f.address,
  resourceType: f.type,
  relationship: 'recorded!=actual',
  changeType: f.kind === 'changed' ? 'modified' : 'deleted',
  changedFields: f.kind === 'changed' ? f.changedPaths : ['/'],
  // The scan compares recorded state with the cloud: `desired` here is the recorded value.
  diff:
    f.kind === 'changed'
      ? f.changes.map((c) => (ctx.redactor ?? keylessRedactor).fieldChange({ path: c.path, kind: c.op, desired: c.recorded, actual: c.actual }, f.type))
      : [{ path: '/', kind: 'removed' }],
  detectedAt: ctx.detectedAt,
  detector: 'aws-inventory',
  stateBackend: ctx.stateSource,
  ...(ctx.sourceOfTruth ? { sourceOfTruth: ctx.sourceOfTruth } : {}),
  ...(ctx.audit
    ? {
        auditCorrelation: {
          actor: { id: ctx.audit.actor, type: ACTOR_TYPES[ctx.audit.actorType] },
          source: ctx.audit.source,
          eventTime: new Date(ctx.audit.eventTime).toISOString(),
          eventName: ctx.audit.eventName,
        },
      }
    : {}),
});

/**
 * The AWS inventory detector: for a registered IaC stack with an s3/local tfstate and its own
 * role, reads state, observes the cloud with the unit's credentials and reports changed/deleted
 * resources, each correlated with CloudTrail when logs are configured. Any resource it could not
 * read makes the detection fail (unknown, never clean). Every detection carries its coverage: state
 * resources of types the scan does not support are not covered, never counted as clean.
 * Reverts: security groups only.
 */
export function awsInventoryDetector(deps: AwsInventoryDetectorDeps): UnitDetector {
  const redactor = deps.redactor ?? keylessRedactor;
  let loaded: Promise<Registry> | undefined;
  const registry = () =>
    (loaded ??= loadRegistry(deps.registryDir).then((r) => {
      if (!r.ok) {
        loaded = undefined;
        throw new Error(`registry at ${deps.registryDir} is invalid (${r.errors.length} problem(s))`);
      }
      return r.registry;
    }));
  const unitOf = async (name: string) => {
    // An unreadable registry means this detector knows no unit: scans then fail, loudly, as stale.
    const u = (await registry().catch(() => undefined))?.units.get(name);
    return u && AWS_STACK_TYPES.includes(u.spec.type) && (u.spec.state?.backend === 's3' || u.spec.state?.backend === 'local') ? u : undefined;
  };

  return {
    name: 'aws-inventory',
    has: async (unit) => (await unitOf(unit)) !== undefined,

    async detect(name, now) {
      const u = await unitOf(name);
      if (!u) return { status: 'failed', unit: name, error: `${name} is not an AWS stack in the registry` };
      const mapped = awsUnitOf(u, deps);
      if ('error' in mapped) return { status: 'failed', unit: name, error: mapped.error };
      let report;
      try {
        report = await deps.aws.scanUnitInventory(mapped.unit);
      } catch (err) {
        return { status: 'failed', unit: name, error: redactor.text((err as Error).message) };
      }
      if (report.failures.length > 0) {
        const first = report.failures[0]!;
        return { status: 'failed', unit: name, error: redactor.text(`${report.failures.length} resource(s) could not be read; first: ${first.address ?? first.type} ${first.code}: ${first.message}`) };
      }
      const detectedAt = now.toISOString();
      const audits = new Map<string, AuditCorrelation>();
      if (deps.cloudTrail && report.findings.length > 0) {
        try {
          const out = await deps.aws.correlateAuditEvents({
            logs: deps.cloudTrail,
            targets: report.findings.map((f) => ({ type: f.type, resourceId: f.resourceId, findingKind: f.kind, ...(f.kind === 'changed' ? { changedPaths: f.changedPaths } : {}), detectedAt })),
            breakGlassRoleArns: breakGlassRolesFor(await registry(), name),
          });
          for (const r of out.results) if (r.auditCorrelation) audits.set(r.target.resourceId, r.auditCorrelation);
        } catch {
          // Unreadable logs leave the actor unknown; the drift itself is still reported.
        }
      }
      const src = u.spec.source;
      const sourceOfTruth = src ? `${src.repo}/${src.path}@${src.revision}` : undefined;
      const observations = report.findings.map((f) =>
        observationOf(f, { stateSource: report.stateSource, detectedAt, redactor, ...(sourceOfTruth ? { sourceOfTruth } : {}), ...(audits.has(f.resourceId) ? { audit: audits.get(f.resourceId)! } : {}) }),
      );
      // Resources of types the scan cannot read are not covered (they used to be dropped silently).
      return { status: 'ok', unit: name, observations, resources: report.compared, coverage: inventoryReportCoverage(report) };
    },

    async revert(o) {
      if (o.resourceType !== 'aws_security_group' || o.changeType !== 'modified') return undefined;
      if (!o.changedFields.every((p) => p === '/ingress' || p === '/egress')) return undefined;
      const u = await unitOf(o.unit);
      if (!u) return undefined;
      const mapped = awsUnitOf(u, deps);
      if ('error' in mapped) return undefined;
      const r = await deps.aws.revertSecurityGroup({ unit: mapped.unit, address: o.resourceRef });
      return { executed: true, detail: r.detail };
    },
  };
}
