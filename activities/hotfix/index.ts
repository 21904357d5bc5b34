import { ApplicationFailure } from '@temporalio/common';
import type { EvidenceStore } from '../../evidence/evidence-store';
import type { Notifier } from '../notify/console-notifier';
import { checkHotfixOpening, DEFAULT_MAX_EXTENSIONS, hotfixPartiesOf, HotfixWindowInputSchema, teamPerson, type HotfixWindowInput } from '../../domain/hotfix';
import type { PersonIdentities } from '../../domain/identity';
import { loadHotfixRegistry } from './parties';

/** What the hotfix-window activities need from the outside world. */
export interface HotfixDeps {
  evidence: EvidenceStore;
  notifier: Notifier;
  registryDir: string;
}

interface WindowIds {
  windowId: string;
  runId: string;
}

/** What the window learns from the registry when it opens. */
export interface OpenedWindow {
  owner: string;
  /** Listed approvers of the unit, with every name they act under (who may extend or accept). */
  approvers: PersonIdentities[];
  /** Members of the owning team (who may record a reconciliation path or close). */
  team: PersonIdentities[];
  /** The persons behind the declared actors, where the registry knows them. */
  actorPersons: string[];
  /** The owning team and the incident channel. */
  notify: string[];
  maxExtensions: number;
}

/**
 * The activities of a hotfix window: each notifies and appends a record to the window's evidence
 * chain (keyed by the window id), idempotent by (window, run, step).
 */
export function createHotfixActivities(deps: HotfixDeps) {
  const record = (ids: WindowIds, step: string, at: string, data: unknown) =>
    deps.evidence.append({ findingId: ids.windowId, runId: ids.runId, key: `${ids.runId}:${step}`, step, at, data });

  return {
    /**
     * Opens a window: checks the declared actors and the opener against the registry (a listed
     * approver, or a break-glass role of the owning team; the opener a person of the team or an
     * approver), records it and tells the owner. Invalid input fails the window for good.
     */
    async openHotfixWindow(input: WindowIds & { window: HotfixWindowInput; at: string }): Promise<OpenedWindow> {
      const parsed = HotfixWindowInputSchema.safeParse(input.window);
      if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid hotfix window: ${parsed.error.issues[0]?.message ?? 'input'}`, 'InvalidInput');
      const w = parsed.data;
      const registry = await loadHotfixRegistry(deps.registryDir);
      const unit = registry.units.get(w.unit);
      if (!unit) throw ApplicationFailure.nonRetryable(`unit ${w.unit} is not in the registry at ${deps.registryDir}`, 'InvalidInput');
      const refused = checkHotfixOpening(registry, w);
      if (refused.length > 0) throw ApplicationFailure.nonRetryable(refused.join('; '), 'InvalidInput');
      const parties = hotfixPartiesOf(registry, w.unit);
      const actorPersons = [...new Set(w.actors.map((a) => teamPerson(a, parties)).filter((x): x is string => x !== undefined))];
      const opened: OpenedWindow = {
        owner: unit.spec.owner,
        approvers: [...parties.approvers],
        team: [...parties.team],
        actorPersons,
        notify: [`team:${unit.spec.owner}`, `incident:${w.incident}`],
        // The unit's policy decides; an explicit window input may only ask for fewer.
        maxExtensions: Math.min(w.maxExtensions ?? Number.POSITIVE_INFINITY, unit.spec.policies.maxHotfixExtensions ?? DEFAULT_MAX_EXTENSIONS),
      };
      await record(input, 'opened', input.at, {
        unit: w.unit,
        incident: w.incident,
        window: w.window,
        actors: w.actors,
        actorPersons,
        openedBy: w.openedBy,
        reason: w.reason,
        maxExtensions: opened.maxExtensions,
        ...(w.statement !== undefined ? { statement: w.statement } : {}),
      });
      await deps.notifier.send({
        kind: 'hotfix-opened',
        findingId: input.windowId,
        targets: opened.notify,
        text: `hotfix window for ${w.incident} on ${w.unit} open for ${w.window} by ${w.openedBy}; break-glass: ${w.actors.join(', ')}`,
      });
      return opened;
    },

    /** A reminder at 50 % or 90 % of the window: what is still without a reconciliation path. */
    async remindHotfixWindow(input: WindowIds & { percent: number; at: string; deadline: string; unresolved: string[]; notify: string[]; period: number }): Promise<void> {
      await record(input, `reminder-${input.period}-${input.percent}`, input.at, { percent: input.percent, deadline: input.deadline, unresolved: input.unresolved });
      await deps.notifier.send({
        kind: 'hotfix-reminder',
        findingId: input.windowId,
        targets: input.notify,
        text: `${input.percent}% of the hotfix window has passed; it closes at ${input.deadline}; ${input.unresolved.length} finding(s) without a reconciliation path${input.unresolved.length ? `: ${input.unresolved.join(', ')}` : ''}`,
      });
    },

    /** The window expired with findings that have no reconciliation path: the owner and the incident channel are told. */
    async escalateHotfixWindow(input: WindowIds & { at: string; unresolved: string[]; notify: string[] }): Promise<void> {
      await record(input, 'escalated', input.at, { unresolved: input.unresolved });
      await deps.notifier.send({
        kind: 'hotfix-escalated',
        findingId: input.windowId,
        targets: input.notify,
        text: `hotfix window expired; ${input.unresolved.length} emergency finding(s) have no reconciliation PR or state action and were not accepted: ${input.unresolved.join(', ')}`,
      });
    },

    /** Records a step of the window (an attached finding, a resolution, an extension, the closure). */
    async recordHotfixStep(
      input: WindowIds & { step: string; at: string; data: unknown; notice?: { kind: 'hotfix-extended' | 'hotfix-closed'; targets: string[]; text: string } },
    ): Promise<void> {
      await record(input, input.step, input.at, input.data);
      if (input.notice) await deps.notifier.send({ ...input.notice, findingId: input.windowId });
    },
  };
}

/** The hotfix-window activities, as the workflow sees them. */
export type HotfixActivities = ReturnType<typeof createHotfixActivities>;
