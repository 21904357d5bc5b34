import type { DriftObservation, ObservationContext } from '../finding';
import { splitPointer } from '../registry/paths';
import type { UnitCost } from '../registry/schemas';

/**
 * Cost drift (issue 11, domain text §5.8, §10 non-prod cost resources): a size change (instance
 * type, DB instance class, cache node type, node-group or auto-scaling size) priced against a
 * monthly price table. The delta is in percent of the desired configuration's monthly cost;
 * a size with no price gives no cost context at all, never a made-up number. Pure.
 */

/** Hours in a month as AWS prices them (730). */
const HOURS_PER_MONTH = 730;

/**
 * Approximate on-demand list prices in US dollars per hour (Linux, us-east-1, single-AZ; RDS for
 * MySQL/PostgreSQL list prices; ElastiCache Redis). They are approximate and only the ratio of two
 * of them matters; a unit overrides or extends them with `spec.cost.prices` (monthly prices).
 */
const HOURLY_LIST_PRICES: Record<string, number> = {
  // EC2: burstable
  't3.nano': 0.0052,
  't3.micro': 0.0104,
  't3.small': 0.0208,
  't3.medium': 0.0416,
  't3.large': 0.0832,
  't3.xlarge': 0.1664,
  't3.2xlarge': 0.3328,
  't3a.micro': 0.0094,
  't3a.small': 0.0188,
  't3a.medium': 0.0376,
  't3a.large': 0.0752,
  't4g.micro': 0.0084,
  't4g.small': 0.0168,
  't4g.medium': 0.0336,
  't4g.large': 0.0672,
  // EC2: general purpose
  'm5.large': 0.096,
  'm5.xlarge': 0.192,
  'm5.2xlarge': 0.384,
  'm5.4xlarge': 0.768,
  'm6i.large': 0.096,
  'm6i.xlarge': 0.192,
  'm6i.2xlarge': 0.384,
  'm6i.4xlarge': 0.768,
  'm6g.large': 0.077,
  'm6g.xlarge': 0.154,
  'm7i.large': 0.1008,
  'm7i.xlarge': 0.2016,
  // EC2: compute and memory optimised
  'c5.large': 0.085,
  'c5.xlarge': 0.17,
  'c5.2xlarge': 0.34,
  'c6i.large': 0.085,
  'c6i.xlarge': 0.17,
  'r5.large': 0.126,
  'r5.xlarge': 0.252,
  'r5.2xlarge': 0.504,
  'r6i.large': 0.126,
  'r6i.xlarge': 0.252,
  // RDS
  'db.t3.micro': 0.017,
  'db.t3.small': 0.034,
  'db.t3.medium': 0.068,
  'db.t3.large': 0.136,
  'db.t4g.micro': 0.016,
  'db.t4g.small': 0.032,
  'db.t4g.medium': 0.065,
  'db.m5.large': 0.171,
  'db.m5.xlarge': 0.342,
  'db.m5.2xlarge': 0.684,
  'db.m6g.large': 0.152,
  'db.r5.large': 0.25,
  'db.r5.xlarge': 0.5,
  'db.r6g.large': 0.225,
  // ElastiCache
  'cache.t3.micro': 0.017,
  'cache.t3.small': 0.034,
  'cache.t3.medium': 0.068,
  'cache.m5.large': 0.156,
  'cache.r5.large': 0.216,
};

/** The built-in monthly price table (USD per month, approximate list prices): hourly × 730, rounded to cents. */
export const builtInMonthlyPrices: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(Object.entries(HOURLY_LIST_PRICES).map(([k, v]) => [k, Math.round(v * HOURS_PER_MONTH * 100) / 100])),
);

/** Attribute names whose value is a size with a price (EC2 instance type, RDS instance class, cache node type, an EKS node group's `instance_types/<i>`). */
export const SIZE_ATTRIBUTES: readonly string[] = ['instance_type', 'instance_class', 'node_type', 'instance_types'];
/** Attribute names whose value is a count of priced things (EKS node group, auto-scaling group). */
export const COUNT_ATTRIBUTES: readonly string[] = ['desired_size', 'desired_capacity'];

/** The default tolerance: a cost change of at most this many percent is not cost drift. */
export const DEFAULT_COST_TOLERANCE_PERCENT = 10;

/** The monthly price of a size: the unit's own price first, then the built-in table; undefined when unknown. */
export function monthlyPrice(size: string, prices?: Readonly<Record<string, number>>): number | undefined {
  return prices?.[size] ?? builtInMonthlyPrices[size];
}

/** What a cost reading found: the monthly cost of desired and actual, and the change in percent. */
export interface CostDelta {
  desiredMonthly: number;
  actualMonthly: number;
  /** (actual − desired) / desired × 100, rounded to one decimal. */
  percent: number;
  /** The size paths it priced. */
  paths: string[];
}

/**
 * The cost change a diff implies, or undefined when it changes no priced size, or any size it
 * changes has no price, or the desired configuration costs nothing. Sizes are summed over the
 * diff's size entries; a count (node-group or ASG desired size) multiplies them, and on its own
 * gives the ratio of the counts.
 */
export function costDelta(diff: DriftObservation['diff'], prices?: Readonly<Record<string, number>>): CostDelta | undefined {
  let desiredSum = 0;
  let actualSum = 0;
  let sizes = 0;
  let desiredCount = 1;
  let actualCount = 1;
  let counts = 0;
  const paths: string[] = [];
  for (const d of diff) {
    const segs = splitPointer(d.path);
    // A list item (`/instance_types/0`) is named by its list.
    const last = segs.length > 1 && /^\d+$/.test(segs.at(-1)!) ? segs.at(-2) : segs.at(-1);
    if (last === undefined) continue;
    if (SIZE_ATTRIBUTES.includes(last)) {
      if (typeof d.desired !== 'string' || typeof d.actual !== 'string' || d.desired === d.actual) continue;
      const p = monthlyPrice(d.desired, prices);
      const q = monthlyPrice(d.actual, prices);
      if (p === undefined || q === undefined) return undefined;
      desiredSum += p;
      actualSum += q;
      sizes++;
      paths.push(d.path);
    } else if (COUNT_ATTRIBUTES.includes(last)) {
      if (typeof d.desired !== 'number' || typeof d.actual !== 'number' || d.desired === d.actual) continue;
      if (d.desired < 0 || d.actual < 0) continue;
      desiredCount *= d.desired;
      actualCount *= d.actual;
      counts++;
      paths.push(d.path);
    }
  }
  if (sizes === 0 && counts === 0) return undefined;
  const desiredMonthly = (sizes ? desiredSum : 1) * desiredCount;
  const actualMonthly = (sizes ? actualSum : 1) * actualCount;
  if (desiredMonthly <= 0) return undefined;
  const percent = Math.round(((actualMonthly - desiredMonthly) / desiredMonthly) * 1000) / 10;
  return { desiredMonthly, actualMonthly, percent, paths };
}

/**
 * The cost context of an observation: `costDeltaPercent` when its size change moves the monthly
 * cost by more than the unit's `spec.cost.tolerancePercent` (default 10) either way; undefined
 * otherwise. The table's `cost-drift` rule needs an increase of at least 10 %.
 */
export function costContext(
  o: Pick<DriftObservation, 'diff'>,
  cost?: Partial<UnitCost>,
): Pick<ObservationContext, 'costDeltaPercent'> | undefined {
  const delta = costDelta(o.diff, cost?.prices);
  if (!delta) return undefined;
  const tolerance = cost?.tolerancePercent ?? DEFAULT_COST_TOLERANCE_PERCENT;
  return Math.abs(delta.percent) > tolerance ? { costDeltaPercent: delta.percent } : undefined;
}
