/**
 * Named errors of the local Git PR provider. Each carries what it is about, so the CLI can map it
 * to an exit code and an activity can turn the permanent ones into non-retryable failures.
 */

/** The folder is missing, is not a Git repository, or (for a merge) has no working tree. */
export class LocalRepoNotFound extends Error {
  override readonly name = 'LocalRepoNotFound';
  constructor(
    readonly repo: string,
    readonly why: string,
  ) {
    super(`${repo}: ${why}`);
  }
}

/** No PR record with this number in the repository. */
export class PrNotFound extends Error {
  override readonly name = 'PrNotFound';
  constructor(
    readonly repo: string,
    readonly number: number,
  ) {
    super(`no driftplane PR #${number} in ${repo}`);
  }
}

/** The PR is not open (a closed PR cannot be merged, a merged one cannot be closed). */
export class PrNotOpen extends Error {
  override readonly name = 'PrNotOpen';
  constructor(
    readonly repo: string,
    readonly number: number,
    readonly state: string,
    readonly wanted: 'merge' | 'close',
  ) {
    super(
      `driftplane PR #${number} in ${repo} is ${state}: it cannot be ${wanted === 'merge' ? 'merged' : 'closed'}`,
    );
  }
}

/** A branch or revision the operation needs does not exist. */
export class BranchNotFound extends Error {
  override readonly name = 'BranchNotFound';
  constructor(
    readonly repo: string,
    readonly branch: string,
  ) {
    super(`${repo}: no branch or commit ${JSON.stringify(branch)}`);
  }
}

/** The working tree has uncommitted changes to tracked files (or a merge in progress): merging would mix them in. */
export class WorkingTreeDirty extends Error {
  override readonly name = 'WorkingTreeDirty';
  constructor(
    readonly repo: string,
    readonly files: string[],
    why = 'uncommitted changes to tracked files',
  ) {
    super(
      `${repo}: the working tree has ${why}${files.length ? ` (${files.slice(0, 10).join(', ')}${files.length > 10 ? `, and ${files.length - 10} more` : ''})` : ''}; commit or stash them first`,
    );
  }
}

/** HEAD is not the PR's base branch, so a merge would land somewhere else. */
export class NotOnBaseBranch extends Error {
  override readonly name = 'NotOnBaseBranch';
  constructor(
    readonly repo: string,
    readonly base: string,
    readonly head: string,
  ) {
    super(
      `${repo}: HEAD is ${head}, not the PR's base branch ${base}; run \`git -C ${repo} switch ${base}\` first`,
    );
  }
}

/** The merge conflicted; it was aborted, and the working tree is as it was. */
export class MergeConflict extends Error {
  override readonly name = 'MergeConflict';
  constructor(
    readonly repo: string,
    readonly number: number,
    readonly files: string[],
  ) {
    super(
      `driftplane PR #${number} conflicts with ${repo}'s base branch in ${files.length ? files.join(', ') : 'some files'}; the merge was aborted and nothing changed`,
    );
  }
}

/** Another merge or close of the same PR holds its lock. */
export class PrBusy extends Error {
  override readonly name = 'PrBusy';
  constructor(
    readonly lockFile: string,
    readonly number: number,
  ) {
    super(
      `driftplane PR #${number} is being merged or closed by another process (lock ${lockFile}; remove it if no such process runs)`,
    );
  }
}

/** A git command failed for a reason none of the errors above names. */
export class GitCommandFailed extends Error {
  override readonly name = 'GitCommandFailed';
  constructor(
    readonly args: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(
      `git ${args.join(' ')} failed (exit ${exitCode ?? 'signal'}): ${stderr.trim().split('\n').slice(-5).join(' | ') || 'no message'}`,
    );
  }
}

/** The PR request cannot be made into a commit (a path outside the repository, a duplicate path). */
export class InvalidPrRequest extends Error {
  override readonly name = 'InvalidPrRequest';
  constructor(
    readonly field: string,
    why: string,
  ) {
    super(`${field}: ${why}`);
  }
}

/** A PR record on disk is not valid JSON of the expected shape. */
export class PrRecordInvalid extends Error {
  override readonly name = 'PrRecordInvalid';
  constructor(
    readonly file: string,
    why: string,
  ) {
    super(`${file}: not a valid driftplane PR record: ${why}`);
  }
}
