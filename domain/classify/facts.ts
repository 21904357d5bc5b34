import { categoriesOf } from './categories';
import type { ClassifyInput, ContextActor } from './input';
import { resolveOwnership, type FieldOwnership } from './ownership';
import { analyzePlanes, type PlaneAnalysis } from './planes';
import type { Category, DriftClass } from './vocabulary';

/**
 * Facts derived once from an input, on which decision-table conditions are evaluated.
 * Everything time-dependent takes `now` from the caller; nothing reads the clock.
 */
export interface Facts {
  planes: PlaneAnalysis;
  categories: Category[];
  ownership: FieldOwnership[];
  ownershipAmbiguous: boolean;
  /** The actor from the context, or inferred from a manual managedFields writer. */
  actor?: ContextActor;
  actorInferred: boolean;
  detector: 'ok' | 'failed' | 'overdue';
  detectorWhy: string;
  exception: 'active' | 'expired' | 'none';
  exceptionWhy?: string;
  incident: 'open' | 'resolved' | 'none';
  secretVersionMismatch: boolean;
  /** Set during evaluation: an earlier fired rule has set the drift class. */
  classified: boolean;
  /** Set during evaluation: the drift class decided so far. */
  driftClass?: DriftClass;
  nowMs?: number;
}

/** The evaluation time: `opts.now`, else `context.now`, else unknown. */
export function resolveNow(input: ClassifyInput, now?: Date): number | undefined {
  if (now) return now.getTime();
  if (input.context.now) return Date.parse(input.context.now);
  return undefined;
}

/** Derives the facts of an input. */
export function deriveFacts(input: ClassifyInput, nowMs: number | undefined): Facts {
  const { unit, change, context } = input;
  const planes = analyzePlanes(change);
  const categories = categoriesOf(unit, change, context);
  const ownership = resolveOwnership({
    resourceType: change.resourceType,
    changedFields: change.changedFields,
    fieldOwners: change.fieldOwners,
    ownershipRules: input.ownershipRules,
    managedFields: input.managedFields,
    liveObject: input.liveObject,
    conditions: context.conditions,
  });

  let actor = context.actor;
  let actorInferred = false;
  if (!actor) {
    // A console or kubectl write in managedFields is a manual change even without an audit event.
    const manual = ownership.map((o) => o.lastWriter).find((w) => w !== undefined && w.kind === 'manual');
    if (manual) {
      actor = { id: manual.manager, type: 'human', source: 'managedFields' };
      if (manual.time !== undefined && !Number.isNaN(Date.parse(manual.time)))
        actor.eventTime = new Date(Date.parse(manual.time)).toISOString();
      actorInferred = true;
    }
  }

  let detector = context.detector.status;
  let detectorWhy = `detector status ${detector}`;
  if (detector === 'ok' && context.detector.maxAgeMinutes !== undefined) {
    if (context.detector.lastSuccessAt === undefined) {
      detector = 'overdue';
      detectorWhy = 'detector has a maximum age but no recorded success';
    } else if (nowMs !== undefined) {
      const ageMin = (nowMs - Date.parse(context.detector.lastSuccessAt)) / 60_000;
      if (ageMin > context.detector.maxAgeMinutes) {
        detector = 'overdue';
        detectorWhy = `last successful detection ${Math.floor(ageMin)} min ago exceeds ${context.detector.maxAgeMinutes} min`;
      }
    }
  }

  let exception: Facts['exception'] = 'none';
  let exceptionWhy: string | undefined;
  if (context.exception) {
    const expires = Date.parse(context.exception.expiresAt);
    if (nowMs === undefined) {
      // Without a clock an exception cannot be shown to be active: be conservative.
      exception = 'expired';
      exceptionWhy = `exception ${context.exception.id} cannot be checked without an evaluation time`;
    } else if (expires > nowMs) {
      exception = 'active';
      exceptionWhy = `exception ${context.exception.id} is active until ${context.exception.expiresAt}`;
    } else {
      exception = 'expired';
      exceptionWhy = `exception ${context.exception.id} expired at ${context.exception.expiresAt}`;
    }
  }

  const s = context.secret;
  const facts: Facts = {
    planes,
    categories,
    ownership,
    ownershipAmbiguous: ownership.some((o) => o.ambiguous === true),
    actorInferred,
    detector,
    detectorWhy,
    exception,
    incident: context.incident?.status ?? 'none',
    secretVersionMismatch: s !== undefined && s.externalVersion !== s.clusterVersion,
    classified: false,
  };
  if (actor) facts.actor = actor;
  if (exceptionWhy !== undefined) facts.exceptionWhy = exceptionWhy;
  if (nowMs !== undefined) facts.nowMs = nowMs;
  return facts;
}
