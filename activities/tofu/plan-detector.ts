/**
 * The plan detector (issue 11 §1): `runPlan` as the {@link UnitDetector} of OpenTofu, Terraform and
 * Terragrunt stacks. It runs the unit's binary in normal or refresh-only mode (from the registry),
 * keeps the plan JSON (sensitive values masked) in the evidence store, and turns each changed
 * resource into one observation whose three-plane relationship comes from the plan
 * (domain/plan/plan-observations.ts). Only the observations and the artifact's reference travel on.
 *
 * It must run inside an activity (runPlan heartbeats and is cancelled through the activity context).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { ArtifactRef, DriftObservation } from '../../domain/finding';
import {
  lockedVersions,
  providerVersionChanges,
  type ProviderVersionChange,
} from '../../domain/plan/lock-file';
import { planObservations, planResourceCount } from '../../domain/plan/plan-observations';
import { keylessRedactor, type Redactor } from '../../domain/redaction';
import type { Registry } from '../../domain/registry/model';
import type { DriftManagedUnit } from '../../domain/registry/schemas';
import type { EvidenceStore } from '../../evidence/evidence-store';
import type { LocalDetection } from '../local-planes/local-planes';
import type { UnitDetector } from '../scan/detectors';
import type { RunPlanResult, TofuActivityDeps } from './run-plan';
import { createTofuActivities } from './run-plan';
import { resolveUnitWorkdir } from './unit-workdir';

/** Unit types the plan detector observes. */
export const PLAN_STACK_TYPES = ['opentofu-stack', 'terraform-stack', 'terragrunt-stack'] as const;
/** A unit type the plan detector observes. */
export type PlanStackType = (typeof PLAN_STACK_TYPES)[number];

/** The binary of each stack type when the unit names none (`spec.detection.binary`). */
export const DEFAULT_PLAN_BINARIES: Readonly<Record<PlanStackType, string>> = {
  'opentofu-stack': 'tofu',
  'terraform-stack': 'terraform',
  'terragrunt-stack': 'terragrunt',
};

/** The lock file the provider versions are read from, in the stack directory. */
export const LOCK_FILE = '.terraform.lock.hcl';

/** What {@link planDetector} needs. */
export interface PlanDetectorDeps {
  /** The registry (read at every call: a change on disk is seen at the next scan). */
  registry: () => Promise<Registry | undefined>;
  /**
   * How plans run (workRoot, spawnEnv, timeouts, lock retries). `artifactsDir` is the detector's
   * own (under `stateDir`); `credentialsFor` here is used only when {@link credentialsFor} is not set.
   */
  tofu: Omit<TofuActivityDeps, 'artifactsDir'>;
  /** The unit's credentials, as environment variables of its tofu processes only (e.g. its assumed AWS role). */
  credentialsFor?: (unit: DriftManagedUnit) => Promise<Record<string, string>>;
  /** Where the plan JSON is kept; only its reference travels in observations. */
  evidence: Pick<EvidenceStore, 'putArtifact'>;
  /** The detector's own files: provider versions at each unit's last successful detection, plan JSON in transit. */
  stateDir: string;
  /** DRIFTPLANE_STACKS_DIR: checkouts of non-local repositories, one folder per unit. */
  stacksDir?: string;
  /** The binary per stack type (DRIFTPLANE_TOFU_BIN for opentofu-stack); a unit's `detection.binary` wins. */
  binaries?: Partial<Record<PlanStackType, string>>;
  /** `-lock-timeout` of each plan. Default 60s. */
  lockTimeout?: string;
  /** Redacts diff values and error text (and masks sensitive values in the kept plan). Default `[REDACTED]`. */
  redactor?: Redactor;
  /**
   * How long a provider upgrade stays the explanation of representation-only drift after the
   * detection that first saw the new lock-file versions (while the versions stay). Default 7 days.
   */
  providerUpgradeWindowMs?: number;
}

/** What the detector remembers of a unit's last successful plan detection. */
interface UnitPlanState {
  unit: string;
  /** Lock-file versions (address → version) at that detection. */
  providers: Record<string, string>;
  recordedAt: string;
  /** The last change of the lock file it saw: what changed and when it was first seen. */
  lastUpgrade?: { changes: ProviderVersionChange[]; seenAt: string };
}

/** True inside a cancelled activity (false outside any activity). */
function activityCancelled(): boolean {
  try {
    return Context.current().cancellationSignal.aborted;
  } catch {
    return false;
  }
}

const isStack = (t: string): t is PlanStackType => (PLAN_STACK_TYPES as readonly string[]).includes(t);

/** The binary a unit's plans run with. */
export function planBinaryOf(
  unit: DriftManagedUnit,
  binaries: Partial<Record<PlanStackType, string>> = {},
): string {
  const t = unit.spec.type;
  return unit.spec.detection?.binary ?? (isStack(t) ? (binaries[t] ?? DEFAULT_PLAN_BINARIES[t]) : 'tofu');
}

/**
 * The plan detector. `has(unit)`: a registered opentofu-/terraform-/terragrunt-stack with a source,
 * `detection.plan` not `off`, whose stack directory is on this worker. `detect`:
 * - runs the plan (`detection.plan`: normal or refresh-only) with the unit's binary;
 * - a plan that failed, errored or stayed locked is `failed` with the scrubbed reason (upstream:
 *   DETECTION_STALE), never "no drift";
 * - otherwise one observation per changed resource, each with the plan's artifact reference;
 * - records the lock file's provider versions for the next detection's upgrade check.
 * There is no revert here: tofu executors reconcile plan findings.
 */
export function planDetector(deps: PlanDetectorDeps): UnitDetector {
  const redactor = deps.redactor ?? deps.tofu.redactor ?? keylessRedactor;
  const artifactsDir = path.join(deps.stateDir, 'plan-json');
  const unitsInFlight = new Map<string, DriftManagedUnit>();
  const tofu = createTofuActivities({
    ...deps.tofu,
    redactor,
    artifactsDir,
    ...(deps.credentialsFor
      ? {
          credentialsFor: async (name: string) => {
            const unit = unitsInFlight.get(name);
            return unit ? deps.credentialsFor!(unit) : {};
          },
        }
      : {}),
  });
  const windowMs = deps.providerUpgradeWindowMs ?? 7 * 24 * 3_600_000;
  const stateFile = (unit: string) =>
    path.join(deps.stateDir, 'plan-detector', `${encodeURIComponent(unit)}.json`);

  const unitOf = async (name: string): Promise<{ unit: DriftManagedUnit } | { error: string }> => {
    let registry: Registry | undefined;
    try {
      registry = await deps.registry();
    } catch (err) {
      return { error: `the registry could not be read: ${(err as Error).message}` };
    }
    const unit = registry?.units.get(name);
    if (!unit) return { error: `${name} is not a unit of the registry` };
    if (!isStack(unit.spec.type))
      return { error: `${name} is a ${unit.spec.type}, not an OpenTofu/Terraform/Terragrunt stack` };
    if (unit.spec.detection?.plan === 'off')
      return { error: `${name} has detection.plan off (state-only unit)` };
    return { unit };
  };

  const readState = async (unit: string): Promise<UnitPlanState | undefined> => {
    try {
      return JSON.parse(await readFile(stateFile(unit), 'utf8')) as UnitPlanState;
    } catch {
      return undefined;
    }
  };
  const writeState = async (s: UnitPlanState): Promise<void> => {
    const file = stateFile(s.unit);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, `${JSON.stringify(s, null, 2)}\n`);
    await rename(tmp, file);
  };
  /** The lock file's versions; `{}` without a lock file; undefined when it cannot be read as one. */
  const readLock = async (workDir: string): Promise<Record<string, string> | undefined> => {
    const file = path.join(workDir, LOCK_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? {} : undefined;
    }
    try {
      return lockedVersions(text, LOCK_FILE);
    } catch {
      return undefined;
    }
  };

  const failed = (unit: string, error: string): LocalDetection => ({
    status: 'failed',
    unit,
    error: redactor.text(error),
  });

  return {
    name: 'plan',

    async has(name) {
      const u = await unitOf(name);
      if ('error' in u) return false;
      return !(
        'error' in
        (await resolveUnitWorkdir(u.unit, { ...(deps.stacksDir ? { stacksDir: deps.stacksDir } : {}) }))
      );
    },

    async detect(name, now): Promise<LocalDetection> {
      const u = await unitOf(name);
      if ('error' in u) return failed(name, u.error);
      const unit = u.unit;
      const wd = await resolveUnitWorkdir(unit, { ...(deps.stacksDir ? { stacksDir: deps.stacksDir } : {}) });
      if ('error' in wd) return failed(name, wd.error);
      const mode = unit.spec.detection?.plan === 'refresh-only' ? 'refresh-only' : 'normal';
      const binary = planBinaryOf(unit, deps.binaries);
      const what = `${path.basename(binary)} plan (${mode}) of ${name}`;
      const lock = await readLock(wd.workDir);

      let result: RunPlanResult;
      unitsInFlight.set(name, unit);
      try {
        result = await tofu.runPlan({
          unit: name,
          workDir: wd.workDir,
          ...(wd.sourceRoot ? { sourceRoot: wd.sourceRoot } : {}),
          binary,
          mode,
          lockTimeout: deps.lockTimeout ?? '60s',
          env: unit.spec.region ? { AWS_REGION: unit.spec.region } : {},
        });
      } catch (err) {
        if (err instanceof CancelledFailure || activityCancelled()) throw err;
        return failed(name, `${what} could not run: ${(err as Error).message}`);
      } finally {
        unitsInFlight.delete(name);
      }

      // The plan JSON (sensitive values masked by runPlan) goes to evidence, whatever the status.
      let planText: string | undefined;
      let artifact: ArtifactRef | undefined;
      if (result.planJsonPath) {
        try {
          planText = await readFile(result.planJsonPath, 'utf8');
          artifact = await deps.evidence.putArtifact('plan.json', planText);
        } catch (err) {
          return failed(
            name,
            `${what}: the plan JSON could not be kept as evidence: ${(err as Error).message}`,
          );
        } finally {
          await rm(result.planJsonPath, { force: true }).catch(() => undefined);
        }
      }

      if (result.status !== 'NO_CHANGES' && result.status !== 'DRIFT_DETECTED') {
        const stderr = result.stderrExcerpt
          ?.split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
          .slice(-2)
          .join(' | ');
        return failed(
          name,
          `${what} failed in ${result.phase} (${result.status}): ${result.reason ?? 'no reason given'}` +
            (stderr ? `; stderr: ${stderr}` : '') +
            (artifact ? `; plan JSON kept as ${artifact.uri}` : ''),
        );
      }
      if (!result.plan || planText === undefined || !artifact)
        return failed(name, `${what}: the plan JSON was not kept; cannot tell`);

      // Provider versions: what changed since the last successful detection (or the last upgrade, while it stands).
      const previous = await readState(name);
      let providerChanges: ProviderVersionChange[] = [];
      let lastUpgrade = previous?.lastUpgrade;
      if (lock && previous) {
        const changes = providerVersionChanges(previous.providers, lock);
        if (changes.length > 0) {
          providerChanges = changes;
          lastUpgrade = { changes, seenAt: now.toISOString() };
        } else if (
          previous.lastUpgrade &&
          previous.lastUpgrade.changes.every((c) => lock[c.provider] === c.to) &&
          now.getTime() - Date.parse(previous.lastUpgrade.seenAt) <= windowMs
        ) {
          providerChanges = previous.lastUpgrade.changes;
        }
      }

      let observations: DriftObservation[];
      let planDoc: unknown;
      try {
        planDoc = JSON.parse(planText) as unknown;
        const src = unit.spec.source;
        const st = unit.spec.state;
        const stateBackend = st
          ? st.backend === 's3' && st.bucket && st.key
            ? `s3://${st.bucket}/${st.key}`
            : st.backend
          : undefined;
        observations = planObservations({
          unit: name,
          plan: planDoc,
          normalized: result.plan,
          mode,
          detectedAt: now.toISOString(),
          redactor,
          sourceOfTruth: `${src.repo}/${src.path}@${src.revision}`,
          ...(stateBackend ? { stateBackend } : {}),
          artifacts: [artifact],
          providerChanges,
        });
      } catch (err) {
        return failed(name, `${what}: the plan could not be read as observations: ${(err as Error).message}`);
      }

      if (lock) {
        await writeState({
          unit: name,
          providers: lock,
          recordedAt: now.toISOString(),
          ...(lastUpgrade ? { lastUpgrade } : {}),
        }).catch(() => undefined);
      }
      return { status: 'ok', unit: name, observations, resources: planResourceCount(planDoc) };
    },

    revert: () => Promise.resolve(undefined),
  };
}
