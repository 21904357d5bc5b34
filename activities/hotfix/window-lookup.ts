import { isGrpcServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DriftObservation } from '../../domain/finding';
import { hotfixWindowsQuery, isDeclaredActor } from '../../domain/hotfix';
import type { PersonIdentities } from '../../domain/identity';
import type { LifecycleDecision } from '../../domain/lifecycle';
import { peopleOf } from '../../registry';
import { attachFinding, windowState, type HotfixWindowState } from '../../workflows/messages';
import { loadHotfixRegistry } from './parties';

/**
 * An audit event this long before a window opened still counts as inside it: audit clocks (CloudTrail,
 * the API server) and Temporal's are not the same clock.
 */
export const CLOCK_TOLERANCE_MS = 5 * 60_000;

/** What classification asks Temporal about hotfix windows. */
export interface HotfixLookup {
  /**
   * The classification context a drift gets from an open window on its unit: `{ incident: { id,
   * status: 'open' } }` when the drift's audit actor is the window's declared break-glass actor and
   * the change happened while the window was open; `{}` otherwise (a break-glass actor outside any
   * open window is then unauthorized, by the decision table's `break-glass-without-incident`).
   */
  contextFor(o: DriftObservation): Promise<{ incident?: { id: string; status: 'open' } }>;
  /** Attaches an EMERGENCY_DRIFT finding to the window it happened in (a signal); anything else is left alone. */
  attach(findingId: string, o: DriftObservation, decision: LifecycleDecision): Promise<{ windowId: string } | undefined>;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what} (waited ${ms / 1000}s)`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Lists workflows; a server without visibility (the Java time-skipping test server) lists none.
 * No window found is the strict answer: a break-glass actor is then unauthorized, never emergency.
 */
async function* listOrNothing(client: Client, query: string) {
  try {
    for await (const w of client.workflow.list({ query })) yield w;
  } catch (err) {
    const grpc = isGrpcServiceError(err) ? err : isGrpcServiceError((err as { cause?: unknown })?.cause) ? (err as { cause: { code: number } }).cause : undefined;
    if (grpc?.code === 12 /* UNIMPLEMENTED */) return;
    throw err;
  }
}

/**
 * Finds hotfix windows through Temporal: visibility lists the unit's running `hotfixWindow`
 * workflows (search attribute Unit), and each one's `windowState` query says whether it is open
 * and whom it declares. The query, not the WindowState attribute, decides: visibility can lag.
 */
export function createHotfixLookup(opts: { client: Client; registryDir: string; queryTimeoutMs?: number }): HotfixLookup {
  const people = async (): Promise<PersonIdentities[]> => peopleOf(await loadHotfixRegistry(opts.registryDir));

  const windowFor = async (o: DriftObservation): Promise<HotfixWindowState | undefined> => {
    const audit = o.auditCorrelation;
    // Controllers and CI never make emergency drift; a detection failure has no actor.
    if (!audit || o.detectorStatus !== undefined || !['human', 'break-glass', 'unknown'].includes(audit.actor.type)) return undefined;
    const eventAt = Date.parse(audit.eventTime);
    let registryPeople: PersonIdentities[] | undefined;
    for await (const w of listOrNothing(opts.client, hotfixWindowsQuery({ unit: o.unit, running: true }))) {
      let s: HotfixWindowState;
      try {
        s = await withTimeout(opts.client.workflow.getHandle(w.workflowId, w.runId).query(windowState), opts.queryTimeoutMs ?? 15_000, `no worker answered the state query of ${w.workflowId}`);
      } catch (err) {
        // Closed between the listing and the query: not open.
        if (err instanceof WorkflowNotFoundError) continue;
        throw err;
      }
      if (s.status !== 'open' || s.unit !== o.unit) continue;
      const inside = Number.isNaN(eventAt) || (eventAt >= Date.parse(s.openedAt) - CLOCK_TOLERANCE_MS && eventAt <= Date.parse(s.deadline));
      if (!inside) continue;
      registryPeople ??= await people();
      if (isDeclaredActor(audit.actor.id, [...s.actors, ...s.actorPersons], registryPeople)) return s;
    }
    return undefined;
  };

  return {
    async contextFor(o) {
      const s = await windowFor(o);
      return s ? { incident: { id: s.incident, status: 'open' } } : {};
    },

    async attach(findingId, o, decision) {
      if (decision.driftClass !== 'EMERGENCY_DRIFT') return undefined;
      const s = await windowFor(o);
      if (!s) return undefined;
      try {
        await opts.client.workflow.getHandle(s.windowId).signal(attachFinding, {
          findingId,
          resourceRef: o.resourceRef,
          actor: o.auditCorrelation?.actor.id ?? 'unknown',
          driftClass: decision.driftClass,
          risk: decision.risk,
          detectedAt: o.detectedAt,
        });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
      return { windowId: s.windowId };
    },
  };
}
