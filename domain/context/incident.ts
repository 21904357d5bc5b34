import { z } from 'zod';
import type { DriftObservation, ObservationContext } from '../finding';
import { EnvironmentSchema, InstantSchema, NameSchema, type DriftManagedUnit } from '../registry/schemas';
import { parseInstant } from '../registry/durations';

/**
 * Incidents (issue 11, domain text §3 emergency drift, §13): which incident covers a unit when a
 * drift is detected. The incident itself comes from an adapter (a file of incidents, or a
 * PagerDuty-shaped REST API: activities/context/incidents.ts); matching is pure and lives here.
 */

/** The unit label that names a unit's PagerDuty services (one service id, or several separated by commas). */
export const PAGERDUTY_SERVICE_LABEL = 'pagerduty-service';

/** How long after an incident is resolved a drift on a unit it covered is still tied to it (the table's hotfix reconciliation window). */
export const DEFAULT_RESOLVED_WINDOW_MS = 3 * 24 * 3_600_000;

/** One incident, as both sources give it. */
export const IncidentSchema = z.strictObject({
  id: z.string().min(1),
  status: z.enum(['open', 'resolved']),
  /** Units it covers (registry names). */
  units: z.array(NameSchema).optional(),
  /** Services it is on (PagerDuty service ids); a unit is on a service through its `pagerduty-service` label. */
  services: z.array(z.string().min(1)).optional(),
  /** Environments it is limited to. */
  environments: z.array(EnvironmentSchema).optional(),
  startedAt: InstantSchema,
  resolvedAt: InstantSchema.optional(),
  title: z.string().optional(),
});
/** An incident. */
export type Incident = z.infer<typeof IncidentSchema>;

/** The incident file's shape: a list of incidents, or `{ incidents: [...] }`. */
export const IncidentFileSchema = z.union([
  z.array(IncidentSchema),
  z.strictObject({ incidents: z.array(IncidentSchema) }),
]);

/** The PagerDuty service ids a unit's `pagerduty-service` label names (empty when it has none). */
export function pagerDutyServicesOf(unit: DriftManagedUnit): string[] {
  const raw = unit.spec.labels?.[PAGERDUTY_SERVICE_LABEL];
  if (!raw) return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * True when the incident covers the unit. It covers the units it names and the units on the
 * services it names; when it names neither, every unit (of its environments, when it lists any).
 */
export function incidentCoversUnit(incident: Incident, unit: DriftManagedUnit): boolean {
  if (incident.environments?.length && !incident.environments.includes(unit.spec.environment)) return false;
  const byName = incident.units?.length ? incident.units.includes(unit.metadata.name) : undefined;
  const services = pagerDutyServicesOf(unit);
  const byService = incident.services?.length ? incident.services.some((s) => services.includes(s)) : undefined;
  if (byName === undefined && byService === undefined) return true;
  return byName === true || byService === true;
}

/**
 * What an incident says at `at`: `open` when it had started and was not resolved yet, `resolved`
 * when it was resolved no longer than `resolvedWindowMs` before; undefined otherwise (not started,
 * or resolved long ago). A `resolved` status without `resolvedAt` counts as resolved at its start.
 */
export function incidentStatusAt(incident: Incident, at: Date, resolvedWindowMs: number): 'open' | 'resolved' | undefined {
  const t = at.getTime();
  const started = parseInstant(incident.startedAt);
  if (!started || started.getTime() > t) return undefined;
  const resolved = incident.resolvedAt ? parseInstant(incident.resolvedAt) : incident.status === 'resolved' ? started : undefined;
  if (!resolved || resolved.getTime() > t) return 'open';
  return t - resolved.getTime() <= resolvedWindowMs ? 'resolved' : undefined;
}

/**
 * The incident context of an observation: of the incidents covering the unit, an open one at
 * `detectedAt` wins over one resolved within the window; then the most recently started, then
 * the smallest id. Undefined when none applies.
 */
export function incidentFor(
  incidents: readonly Incident[],
  unit: DriftManagedUnit,
  o: Pick<DriftObservation, 'detectedAt'>,
  opts: { resolvedWindowMs?: number } = {},
): NonNullable<ObservationContext['incident']> | undefined {
  const at = new Date(o.detectedAt);
  if (Number.isNaN(at.getTime())) return undefined;
  const window = opts.resolvedWindowMs ?? DEFAULT_RESOLVED_WINDOW_MS;
  const hits = incidents
    .filter((i) => incidentCoversUnit(i, unit))
    .map((i) => ({ i, status: incidentStatusAt(i, at, window), started: parseInstant(i.startedAt)?.getTime() ?? 0 }))
    .filter((h): h is { i: Incident; status: 'open' | 'resolved'; started: number } => h.status !== undefined)
    .sort((a, b) => (a.status === b.status ? b.started - a.started || a.i.id.localeCompare(b.i.id) : a.status === 'open' ? -1 : 1));
  const best = hits[0];
  return best ? { id: best.i.id, status: best.status } : undefined;
}
