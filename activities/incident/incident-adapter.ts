/**
 * Where an INCIDENT action opens its incident. Three adapters implement it: PagerDuty Events API v2
 * (pagerduty-incident.ts), a GitHub issue (github-issue-incident.ts) and the console, the embedded
 * default (console-incident.ts). Each is idempotent by finding: opening the same finding's incident
 * twice finds the first one again instead of paging or filing twice.
 */

/** PagerDuty's severities, which the other adapters reuse. */
export type IncidentSeverity = 'critical' | 'error' | 'warning' | 'info';

/** What an incident is opened with. Values come from outside (resource names, actors): adapters send them as data. */
export interface IncidentInput {
  /** The finding's id: PagerDuty's dedup_key, the GitHub issue's marker, the console incident's id. */
  findingId: string;
  /** A short headline (the GitHub issue title). */
  title: string;
  /** One paragraph about the finding (PagerDuty's `payload.summary`, cut to 1024 characters). */
  summary: string;
  severity: IncidentSeverity;
  /** Where the problem is: the unit, a host, a resource address (PagerDuty's `payload.source`). */
  source: string;
  component?: string;
  group?: string;
  customDetails?: Record<string, unknown>;
  links?: { href: string; text: string }[];
}

/** The incident as it exists. */
export interface IncidentRef {
  /** The adapter's name (`pagerduty`, `github-issue`, `console`). */
  adapter: string;
  /** PagerDuty: the dedup_key; GitHub: `owner/repo#number`; console: `console:<findingId>`. */
  incidentId: string;
  url?: string;
  /** False when the incident already existed (GitHub found the issue again; PagerDuty always answers true, see its adapter). */
  created: boolean;
}

/** A place incidents are opened. */
export interface IncidentAdapter {
  readonly name: 'pagerduty' | 'github-issue' | 'console';
  /** Opens (or finds again) the finding's incident. */
  open(input: IncidentInput): Promise<IncidentRef>;
}

/** The route asks for an adapter whose secret (routing key, token) is not set in the worker's environment. */
export class IncidentAdapterNotConfigured extends Error {
  override readonly name = 'IncidentAdapterNotConfigured';
  constructor(
    readonly adapter: string,
    /** The environment variable that must be set. */
    readonly variable: string,
  ) {
    super(`the ${adapter} incident adapter is not configured: set the environment variable ${variable}`);
  }
}
