import { coveragePercent, isFullCoverage, type DetectionCoverage } from '../finding';

export { isFullCoverage };
import { ACCOUNT_LISTED_TYPES, type InventoryResourceType } from './resource-types';
import type { UnitInventoryReport } from './findings';
import type { RecordedResource } from './tfstate';

/**
 * Coverage arithmetic (like driftctl's coverage): which resource types, and how many resources, a
 * scan could actually read against everything it knows is there. A type the scanner cannot read is
 * listed as not covered, never counted as clean.
 */

/** One resource as coverage counts it: its IaC type and whether the scanner reads that type. */
export interface CoverageItem {
  type: string;
  covered: boolean;
}

/**
 * Coverage of a set of resources. A type is covered when the scanner reads it; every resource of
 * an uncovered type is uncovered. `uncoveredTypes` adds types that are known to be present (or
 * could not even be listed) but have no counted resource: they lower the type figure, not the
 * resource figure.
 */
export function coverageOf(
  items: readonly CoverageItem[],
  uncoveredTypes: readonly string[] = [],
): DetectionCoverage {
  const covered = new Set<string>();
  const uncovered = new Set<string>(uncoveredTypes);
  let coveredResources = 0;
  for (const i of items) {
    if (i.covered) {
      covered.add(i.type);
      coveredResources++;
    } else uncovered.add(i.type);
  }
  // A type read for some resources and not others does not exist here: the scanner reads a type or not.
  for (const t of covered) uncovered.delete(t);
  return {
    coveredTypes: covered.size,
    totalTypes: covered.size + uncovered.size,
    coveredResources,
    totalResources: items.length,
    uncoveredTypes: [...uncovered].sort(),
  };
}

/**
 * Coverage of one unit's recorded state by the inventory scan: resources of types it supports
 * against every managed resource the state records. Resources of other types (an
 * `aws_cloudwatch_log_group`, an `aws_lambda_function`) are not covered.
 */
export function stateCoverage(recorded: readonly RecordedResource[]): DetectionCoverage {
  return coverageOf(recorded.map((r) => ({ type: r.type, covered: r.supported })));
}

/**
 * The coverage of an inventory report: its own, or, for a report made without one (by an
 * activity from before coverage), the compared resources against those plus the `notScanned`
 * ones. Such a report does not list the types it compared, so only types with findings count as
 * covered there: a lower bound.
 */
export function inventoryReportCoverage(report: UnitInventoryReport): DetectionCoverage {
  if (report.coverage) return report.coverage;
  const uncovered = [...new Set(report.notScanned.map((n) => n.type))].sort();
  const coveredTypes = new Set(report.findings.map((f) => f.type)).size;
  return {
    coveredTypes,
    totalTypes: coveredTypes + uncovered.length,
    coveredResources: report.compared,
    totalResources: report.compared + report.notScanned.length,
    uncoveredTypes: uncovered,
  };
}

/** A resource of a type the unmanaged pass can count in the account but cannot read or compare. */
export interface UncoveredResource {
  type: string;
  /** The provider's `id` for the resource (VPC id, IAM user name, policy ARN, ...). */
  id: string;
}

/** What the unmanaged pass saw of the account, for its coverage. */
export interface AccountCoverageInput {
  /** Resources of the types the pass lists and matches (ACCOUNT_LISTED_TYPES), as listed. */
  listed: readonly { type: InventoryResourceType; key: string }[];
  /** Resources of types the pass counts but cannot match against state. */
  uncovered: readonly UncoveredResource[];
  /** Types the pass tried to count and could not (access denied, API error): present or not, unknown. */
  unlistedTypes?: readonly string[];
  /** Every resource every registered state of the account records. */
  managed: readonly RecordedResource[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Coverage of the account-wide unmanaged pass: the resources it could tell managed or unmanaged
 * (the listed types) against everything known to be in the account, which is the listing plus
 * the counted resources of other types plus the resources of unsupported types that registered
 * states record (one resource per type and id, whichever source saw it). Types whose count failed
 * are uncovered types without resources.
 */
export function accountCoverage(input: AccountCoverageInput): DetectionCoverage {
  const seen = new Set<string>();
  const items: CoverageItem[] = [];
  const add = (type: string, id: string | undefined, covered: boolean) => {
    if (id === undefined) {
      items.push({ type, covered });
      return;
    }
    const k = `${type}\u0000${id}`;
    if (seen.has(k)) return;
    seen.add(k);
    items.push({ type, covered });
  };
  for (const r of input.listed) if (ACCOUNT_LISTED_TYPES.includes(r.type)) add(r.type, r.key, true);
  for (const r of input.uncovered) add(r.type, r.id, false);
  for (const r of input.managed) {
    if (r.supported) continue;
    add(r.type, str(r.attributes.id) ?? str(r.attributes.arn) ?? r.address, false);
  }
  return coverageOf(items, input.unlistedTypes ?? []);
}


/** `83.3% (5/6 types, 40/48 resources); not covered: aws_lambda_function` */
export function describeCoverage(c: DetectionCoverage): string {
  const head = `${coveragePercent(c)}% (${c.coveredTypes}/${c.totalTypes} types, ${c.coveredResources}/${c.totalResources} resources)`;
  return c.uncoveredTypes.length > 0 ? `${head}; not covered: ${c.uncoveredTypes.join(', ')}` : head;
}
