/**
 * A finding's reconciliation branch: `driftplane/<unit>/<fingerprint>`. A finding id is
 * `<unit>:<fingerprint>`, and `:` may not appear in a Git ref name (git check-ref-format), so the
 * separator becomes `/`. One branch per finding: a retried PR finds it again.
 */
export const BRANCH_PREFIX = 'driftplane/';

/** The branch of a finding's reconciliation PR. */
export function branchOf(findingId: string): string {
  const at = findingId.indexOf(':');
  if (at <= 0 || at === findingId.length - 1) throw new Error(`not a finding id: ${JSON.stringify(findingId)} (expected <unit>:<fingerprint>)`);
  return `${BRANCH_PREFIX}${findingId.slice(0, at)}/${findingId.slice(at + 1)}`;
}

/** The finding id of a reconciliation branch, or undefined when the branch is not one of driftplane's. */
export function findingIdOfBranch(branch: string): string | undefined {
  const ref = branch.startsWith('refs/heads/') ? branch.slice('refs/heads/'.length) : branch;
  if (!ref.startsWith(BRANCH_PREFIX)) return undefined;
  // A PR opened again after one was closed unmerged: `<fingerprint>-r<n>`.
  const rest = ref.slice(BRANCH_PREFIX.length).replace(/-r\d+$/, '');
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1 || rest.indexOf('/', slash + 1) !== -1) return undefined;
  return `${rest.slice(0, slash)}:${rest.slice(slash + 1)}`;
}
