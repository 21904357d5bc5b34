/**
 * Credential boundaries (issue 13 §2, docs/temporal.md): the set of systems one worker may hold
 * credentials for (an AWS account, a Kubernetes cluster, a Git organization). A unit that declares
 * a boundary in the registry (`spec.boundary`) has the activities that touch its systems (detect,
 * reconcile, verify) sent to that boundary's task queue, which only the workers configured to serve
 * the boundary poll. A unit without one keeps today's behaviour: everything on the control queue.
 *
 * Pure: no I/O. The registry schema, the worker's configuration and the workflows share it.
 */

/** A boundary name: a DNS label (a-z, 0-9, "-", at most 63 characters), so it fits a task queue, a label and a file name. */
export const BOUNDARY_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The registry value that asks for the boundary derived from the unit ({@link derivedBoundary}). */
export const AUTO_BOUNDARY = 'auto';

/** What of a unit the derivation reads: its AWS account, its cluster and its source repository. */
export interface BoundarySubject {
  account?: string | undefined;
  cluster?: string | undefined;
  source?: { repo: string } | undefined;
  boundary?: string | undefined;
}

/** Lower-cases a free-form name (a cluster, an organization) into a DNS label, or undefined when nothing is left. */
function label(prefix: string, name: string): string | undefined {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!cleaned) return undefined;
  const full = `${prefix}-${cleaned}`.slice(0, 63).replace(/-+$/, '');
  return BOUNDARY_NAME.test(full) ? full : undefined;
}

/**
 * The Git organization of a source repository: `github.com/acme/gitops`, `https://host/acme/x.git`,
 * `git@host:acme/x.git` and `acme/x` all give `acme`. A local path or `file://` URL has none.
 */
export function gitOrganizationOf(repo: string): string | undefined {
  if (/^file:/i.test(repo) || repo.startsWith('/') || repo.startsWith('.')) return undefined;
  const scp = /^[\w.-]+@[\w.-]+:([^/]+)\/[^/]+$/.exec(repo);
  if (scp) return scp[1];
  const parts = repo
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .split('/')
    .filter(Boolean);
  // host/org/repo (a host has a dot) or org/repo.
  if (parts.length >= 3 && parts[0]!.includes('.')) return parts[1];
  if (parts.length === 2) return parts[0];
  return undefined;
}

/**
 * The boundary a unit's own systems suggest, by the credentials its detectors use: its AWS
 * account (`aws-<account>`), else its cluster (`k8s-<cluster>`), else the Git organization of its
 * source (`git-<org>`). The account comes first: a unit in an account is reached with that
 * account's role, whatever else it names. Undefined when the unit names none of the three.
 */
export function derivedBoundary(unit: BoundarySubject): string | undefined {
  if (unit.account) return label('aws', unit.account);
  if (unit.cluster) return label('k8s', unit.cluster);
  const org = unit.source ? gitOrganizationOf(unit.source.repo) : undefined;
  return org ? label('git', org) : undefined;
}

/**
 * The boundary a unit declares (`spec.boundary`): a name as written, `auto` for
 * {@link derivedBoundary}, or undefined (no boundary: the control queue). An `auto` that cannot be
 * derived is rejected by the registry schema, so it reads as undefined only for unchecked input.
 */
export function unitBoundary(unit: BoundarySubject): string | undefined {
  if (unit.boundary === undefined) return undefined;
  return unit.boundary === AUTO_BOUNDARY ? derivedBoundary(unit) : unit.boundary;
}

/**
 * The task queue of a boundary: `<control queue>.<boundary>`, `driftplane.aws-111122223333` with
 * the default control queue. Prefixed by the control queue so that two installations (or two test
 * runs) on one namespace never share a boundary's queue.
 */
export function boundaryTaskQueue(controlQueue: string, boundary: string): string {
  return `${controlQueue}.${boundary}`;
}

/**
 * Parses a comma-separated list of boundary names (DRIFTPLANE_BOUNDARIES): blanks and duplicates
 * dropped, order kept. Returns the names, or the first one that is not a boundary name.
 */
export function parseBoundaryList(
  value: string,
): { ok: true; boundaries: string[] } | { ok: false; invalid: string } {
  const names = [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  const invalid = names.find((n) => !BOUNDARY_NAME.test(n));
  return invalid === undefined ? { ok: true, boundaries: names } : { ok: false, invalid };
}
