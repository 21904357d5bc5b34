import type { DriftObservation } from '../finding';
import { parseInstant } from '../registry/durations';
import { unitDomain } from '../registry/resolve';
import type { ChangeFreeze, DriftManagedUnit } from '../registry/schemas';

/**
 * Change freezes (issue 11, domain text §11.1 "change freeze status"): a drift detected inside a
 * `ChangeFreeze` window on a unit the calendar covers carries `context.changeFreeze` (the
 * calendar's name); the decision table then refuses auto-heal (`change-freeze`). Pure.
 */

/** True when the calendar's selectors cover the unit. An absent or empty selector list covers every unit. */
export function freezeCoversUnit(freeze: ChangeFreeze, unit: DriftManagedUnit): boolean {
  const s = freeze.spec;
  if (s.units?.length && !s.units.includes(unit.metadata.name)) return false;
  if (s.environments?.length && !s.environments.includes(unit.spec.environment)) return false;
  if (s.domains?.length) {
    const domain = unitDomain(unit);
    if (!domain || !s.domains.includes(domain)) return false;
  }
  return true;
}

/**
 * The window of a calendar in force at `at`: `start <= at < end` (a date without a time is 00:00
 * UTC, so `end: 2027-01-04` ends as 4 January begins). Undefined when no window holds `at`.
 */
export function freezeWindowAt(freeze: ChangeFreeze, at: Date): ChangeFreeze['spec']['windows'][number] | undefined {
  const t = at.getTime();
  return freeze.spec.windows.find((w) => {
    const start = parseInstant(w.start);
    const end = parseInstant(w.end);
    return start !== undefined && end !== undefined && start.getTime() <= t && t < end.getTime();
  });
}

/**
 * The name of the first calendar (by name) that covers the unit and has a window holding the
 * observation's `detectedAt`; undefined when none does.
 */
export function changeFreezeFor(
  freezes: Iterable<ChangeFreeze>,
  unit: DriftManagedUnit,
  o: Pick<DriftObservation, 'detectedAt'>,
): string | undefined {
  const at = new Date(o.detectedAt);
  if (Number.isNaN(at.getTime())) return undefined;
  const names = [...freezes]
    .filter((f) => freezeCoversUnit(f, unit) && freezeWindowAt(f, at) !== undefined)
    .map((f) => f.metadata.name)
    .sort();
  return names[0];
}
