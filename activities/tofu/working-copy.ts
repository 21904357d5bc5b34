import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';

/** Directory names never copied into a working copy: provider caches and VCS metadata. */
export const SKIPPED_DIRS: ReadonlySet<string> = new Set(['.terraform', '.git']);

/** An isolated copy of a stack's source tree. */
export interface WorkingCopy {
  /** The copy's root (a copy of `sourceRoot`). */
  root: string;
  /** Where to run the tool: the stack directory inside the copy. */
  stackDir: string;
  /** Removes the copy. */
  remove(): Promise<void>;
}

/**
 * Copies `sourceRoot` (default: the stack directory itself) into a fresh directory under `workRoot`,
 * leaving out `.terraform/` and `.git/`, so that concurrent runs of one stack never share
 * `.terraform`, plan files or local state, and the checkout is never written to. `stackDir` must be
 * inside `sourceRoot`; stacks that use `../modules` need `sourceRoot` set to the repository root.
 */
export async function createWorkingCopy(opts: {
  workRoot: string;
  unit: string;
  stackDir: string;
  sourceRoot?: string;
}): Promise<WorkingCopy> {
  const stackDir = path.resolve(opts.stackDir);
  const sourceRoot = path.resolve(opts.sourceRoot ?? stackDir);
  const rel = path.relative(sourceRoot, stackDir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new Error(`workDir ${stackDir} is not inside sourceRoot ${sourceRoot}`);
  }
  await mkdir(opts.workRoot, { recursive: true });
  const safeUnit = opts.unit.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'unit';
  const root = await mkdtemp(path.join(opts.workRoot, `${safeUnit}-`));
  const copyRoot = path.join(root, 'src');
  await cp(sourceRoot, copyRoot, {
    recursive: true,
    filter: (src) => !SKIPPED_DIRS.has(path.basename(src)),
  });
  return {
    root,
    stackDir: path.join(copyRoot, rel),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}
