/**
 * What an evaluated drift budget (§10, §10.1) looks like to its readers: `driftplane budgets`, the
 * dashboard's executive view, `/metrics` and the budget sweep that routes a burning budget.
 * The first fields are the contract every reader uses; the optional ones after them carry the
 * evaluation's detail (domain/budgets/evaluate.ts always fills them: see {@link EvaluatedBudget}).
 */

/** ok: within budget; burning: a multi-window burn-rate alert fires; exhausted: a limit is broken or the error budget is spent. */
export type BudgetState = 'ok' | 'burning' | 'exhausted';

/** One evaluated budget. */
export interface BudgetReport {
  /** The DriftBudget's metadata.name. */
  budget: string;
  domain: string;
  environment: string;
  owner?: string;
  state: BudgetState;
  /** Fraction of the error budget left over the window, 0..1 (the least of its objectives; 1 when it has none). */
  remaining: number;
  /** Why the state is what it is, one line each (empty when ok). */
  reasons: string[];
  /** Budget remaining at points over the window, oldest first: the burn chart. */
  history: { at: string; remaining: number }[];

  // ---- detail (added by the budgets evaluation; always present in what it returns)

  /** The scope in words: `prod iam, risk ≥ high`. */
  scope?: string;
  /** The budget's `minRisk`, when it sets one. */
  minRisk?: string;
  /** The budget's SLO statements, as the registry words them. */
  slos?: string[];
  /** Each limit (maxUnclassified, maxAge, detectionInterval) and whether it is broken now. */
  limits?: LimitReport[];
  /** Each time objective (timeToClassify, timeToReconcile) the budget sets. */
  objectives?: ObjectiveReport[];
  /** Mean time to classify and to close over the window, for the budget's scope. */
  meanTimes?: MeanTimes;
  /** The drift class a notification about this budget is routed under (see evaluate.ts `routeClassOf`); `NONE` when ok. */
  routeClass?: string;
  /** The instant evaluated (ISO). */
  evaluatedAt?: string;
  /** The rolling window the objectives are judged over, in milliseconds. */
  windowMs?: number;
}

/** A limit of a budget, judged at the evaluation instant. Breaking any one exhausts the budget. */
export interface LimitReport {
  limit: 'maxUnclassified' | 'maxAge' | 'detectionInterval';
  broken: boolean;
  /** maxUnclassified: open unclassified findings; maxAge: findings older than the limit; detectionInterval: overdue units. */
  count: number;
  /** maxUnclassified: the allowed count; maxAge and detectionInterval: the allowed age in ms. */
  threshold: number;
  /** One line for people. */
  detail: string;
  /** The finding ids (or unit names) breaking it, at most ten. */
  offenders: string[];
}

/** A time objective (§10.1): `percent` of findings within `within`, over the rolling window. */
export interface ObjectiveReport {
  objective: 'timeToClassify' | 'timeToReconcile';
  within: string;
  withinMs: number;
  percent: number;
  /** Findings whose outcome is known (good + bad) in the window. */
  total: number;
  good: number;
  bad: number;
  /** Findings in scope still within `within` and not done: not counted yet. */
  pending: number;
  /** good / total × 100; null when no finding counted. */
  compliance: number | null;
  /** 1 − percent/100. */
  errorBudget: number;
  /** 1 − (bad/total)/errorBudget, clipped to 0..1; 1 with no events; 0 for a 100 % target with any bad event. */
  remaining: number;
  /** Burn rate over each alert window (and over the whole window). */
  burnRates: BurnRate[];
  /** The multi-window, multi-burn-rate alerts and whether each fires. */
  alerts: BurnAlert[];
}

/** (bad_w / total_w) / errorBudget over one window. */
export interface BurnRate {
  /** The window as a duration (`1h`, or `14m` when scaled to a 7-day budget window). */
  window: string;
  windowMs: number;
  total: number;
  bad: number;
  /** The rate; 0 with no events; null means infinite (a 100 % objective with a bad event). */
  rate: number | null;
}

/** One alert of the SRE workbook's table: fires when the burn rate over both windows is at least the threshold. */
export interface BurnAlert {
  severity: 'page' | 'ticket';
  long: string;
  short: string;
  threshold: number;
  longRate: number | null;
  shortRate: number | null;
  firing: boolean;
}

/** Mean times over a window, in seconds (null when nothing was classified / closed in it). */
export interface MeanTimes {
  /** Mean time to classify: detected → classified, over findings classified in the window. */
  mttcSeconds: number | null;
  /** Mean time to resolve: detected → closed (any outcome), over findings closed in the window. */
  mttrSeconds: number | null;
  classified: number;
  closed: number;
}

/** A report as the evaluation returns it: every detail field present. */
export type EvaluatedBudget = BudgetReport & Required<Pick<BudgetReport, 'scope' | 'slos' | 'limits' | 'objectives' | 'meanTimes' | 'routeClass' | 'evaluatedAt' | 'windowMs'>>;

/**
 * A recurring drift source (§26 "recurring drift sources are reviewed"): the same finding
 * (fingerprint) detected again in more than one run, or the same field of a unit drifting in
 * several findings, within the window.
 */
export interface RecurringSource {
  kind: 'finding' | 'field';
  unit: string;
  /** kind finding: the finding id (`<unit>:<fingerprint>`). */
  findingId?: string;
  resourceRef?: string;
  /** kind field: the changed field (a JSON pointer or attribute path). */
  field?: string;
  /** Runs (kind finding) or findings (kind field) in the window. */
  count: number;
  /** The latest detection among them (ISO). */
  lastAt: string;
}
