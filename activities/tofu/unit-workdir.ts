/**
 * Where a registry unit's stack is on this worker: the one rule the plan detector and the tofu
 * executors share. A unit whose `source.repo` is a local Git repository (`file:///abs/repo`) is
 * run from `<repo>/<source.path>`; any other repository from a checkout under `stacksDir`
 * (DRIFTPLANE_STACKS_DIR) named by the unit (`<stacksDir>/<unit name>`).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { DriftManagedUnit } from '../../domain/registry/schemas';

/** The stack directory of a unit, and the tree to copy around it when its configuration reaches outside it. */
export interface UnitWorkdir {
  /** Where `tofu init` / `plan` run. */
  workDir: string;
  /** The tree copied into the working copy (see RunPlanInput.sourceRoot); absent: workDir alone. */
  sourceRoot?: string;
}

/** The unit's repository is not local and no folder of checkouts is configured. */
export class StackCheckoutNotConfigured extends Error {
  override readonly name = 'StackCheckoutNotConfigured';
  constructor(
    readonly unit: string,
    readonly repo: string,
  ) {
    super(
      `tofu for ${unit} needs a working copy of ${repo}: set DRIFTPLANE_STACKS_DIR to a folder of checkouts named by unit`,
    );
  }
}

/** Options of {@link unitWorkdirOf}. */
export interface UnitWorkdirOptions {
  /** DRIFTPLANE_STACKS_DIR: checkouts of non-local repositories, one folder per unit name. */
  stacksDir?: string;
}

/**
 * The unit's stack directory (no I/O). Terragrunt stacks from a local repository copy the whole
 * repository, because their `terragrunt.hcl` includes its parents (`find_in_parent_folders()`).
 * Throws {@link StackCheckoutNotConfigured} when the stack cannot be placed.
 */
export function unitWorkdirOf(unit: DriftManagedUnit, opts: UnitWorkdirOptions): UnitWorkdir {
  const src = unit.spec.source;
  if (src.repo.startsWith('file://')) {
    const repo = decodeURIComponent(new URL(src.repo).pathname);
    const workDir = path.join(repo, src.path);
    return unit.spec.type === 'terragrunt-stack' ? { workDir, sourceRoot: repo } : { workDir };
  }
  if (opts.stacksDir) return { workDir: path.join(opts.stacksDir, unit.metadata.name) };
  throw new StackCheckoutNotConfigured(unit.metadata.name, src.repo);
}

/** {@link unitWorkdirOf}, then checks that the directory exists: `{ error }` names what is missing. */
export async function resolveUnitWorkdir(
  unit: DriftManagedUnit,
  opts: UnitWorkdirOptions,
): Promise<UnitWorkdir | { error: string }> {
  let wd: UnitWorkdir;
  try {
    wd = unitWorkdirOf(unit, opts);
  } catch (err) {
    return { error: (err as Error).message };
  }
  const isDir = await stat(wd.workDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  return isDir ? wd : { error: `the stack directory of ${unit.metadata.name} is missing: ${wd.workDir}` };
}
