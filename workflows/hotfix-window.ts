/**
 * A hotfix-reconciliation window (domain text §13): an incident opens it for a unit and declares
 * its break-glass actor(s). While it is open, their drift on the unit is EMERGENCY_DRIFT tied to the
 * incident (the classify activity asks this workflow) and is attached here instead of reverted.
 * Reminders go out at 50 % and 90 % of the window; at expiry every attached finding must have a
 * reconciliation path (a back-port PR or a state action) or be explicitly accepted, otherwise the
 * window escalates to the owner and the incident channel and waits until each has one.
 *
 * Deterministic: the registry is read by an activity (recorded in history), the clocks are durable
 * timers, and every decision a person makes comes in through a validated Update.
 */
import { allHandlersFinished, ApplicationFailure, condition, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import { msToNumber, type Duration } from '@temporalio/common/lib/time';
import type { HotfixActivities, OpenedWindow } from '../activities/hotfix';
import {
  approverPerson,
  AttachFindingSchema,
  CloseWindowSchema,
  DEFAULT_MAX_EXTENSIONS,
  ExtendWindowSchema,
  HOTFIX_REMINDERS,
  HotfixRefused,
  HotfixWindowInputSchema,
  parseHotfixMessage,
  ResolveFindingSchema,
  teamPerson,
  type HotfixWindowInput,
} from '../domain/hotfix';
import { normalizeIdentity } from '../domain/identity';
import { attachFinding, closeWindow, extendWindow, resolveFinding, windowState, type HotfixWindowState } from './messages';
import { HotfixIncidentKey, UnitKey, WindowStateKey } from './search-attributes';

const acts = proxyActivities<HotfixActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', nonRetryableErrorTypes: ['InvalidInput'] },
});

/** The timeline keeps this many entries; older ones are dropped from the middle (the first ones stay). */
const TIMELINE_MAX = 200;
/** A window holds at most this many findings; more are refused (a runaway detector must not grow history without bound). */
const MAX_FINDINGS = 500;

type Pending = { step: string; data: unknown; notice?: { kind: 'hotfix-extended' | 'hotfix-closed'; targets: string[]; text: string } };

/** The hotfix window workflow (a noun; never renamed once released). Id: `hotfix:<unit>:<incident>`. */
export async function hotfixWindow(input: HotfixWindowInput): Promise<HotfixWindowState> {
  const parsed = HotfixWindowInputSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw ApplicationFailure.nonRetryable(`invalid hotfix window input: ${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'}`, 'InvalidInput');
  }
  const w = parsed.data;
  const info = workflowInfo();
  const ids = { windowId: info.workflowId, runId: info.runId };
  const iso = (ms: number) => new Date(ms).toISOString();
  const openedAt = Date.now();
  const windowMs = msToNumber(w.window as Duration);
  let periodStart = openedAt;
  let deadline = openedAt + windowMs;
  let period = 0;
  let sent = new Set<number>();
  let version = 0;
  // Set once the registry has been read; the validators refuse everything until then.
  let opened: OpenedWindow | undefined = undefined;
  let closing: { by: string; reason: string } | undefined;
  const pending: Pending[] = [];

  const s: HotfixWindowState = {
    windowId: ids.windowId,
    unit: w.unit,
    incident: w.incident,
    status: 'open',
    openedAt: iso(openedAt),
    openedBy: w.openedBy,
    reason: w.reason,
    actors: w.actors,
    actorPersons: [],
    approvers: [],
    notify: [],
    window: w.window,
    deadline: iso(deadline),
    maxExtensions: w.maxExtensions ?? DEFAULT_MAX_EXTENSIONS,
    extensions: [],
    reminders: [],
    findings: [],
    timeline: [],
  };
  const note = (event: string, detail?: string) => {
    s.timeline.push({ at: new Date().toISOString(), event, ...(detail ? { detail: detail.slice(0, 600) } : {}) });
    if (s.timeline.length > TIMELINE_MAX) s.timeline.splice(20, 1);
  };
  const setStatus = (status: HotfixWindowState['status']) => {
    s.status = status;
    upsertSearchAttributes([{ key: WindowStateKey, value: status }]);
  };
  const unresolved = () => s.findings.filter((f) => f.resolution === undefined).map((f) => f.findingId);
  const parties = () => {
    if (!opened) throw new HotfixRefused('the window is still opening; try again in a moment');
    return { approvers: opened.approvers, team: opened.team, breakGlassRoles: [], people: [...opened.approvers, ...opened.team] };
  };
  /** True when a name is one of the declared actors, by name or as the same person. */
  const isActor = (name: string) => {
    const person = teamPerson(name, parties());
    return w.actors.some((a) => normalizeIdentity(a) === normalizeIdentity(name)) || (person !== undefined && s.actorPersons.includes(person));
  };
  // SIGNED-STATEMENT HOOK (issue 9, part 3): extend, close and resolve all pass through `onUpdate`'s
  // `check`; that is where `args[0].statement` is verified (before anything else, with the verifier
  // the lifecycle's approve validator uses, against the approvers' registered keys that
  // openHotfixWindow returns) and where `by` is taken from the statement instead of the payload.
  /**
   * An Update of the window: the validator refuses (no trace in history) what `check` throws; the
   * handler checks again and applies. Should that second check fail, it fails the Update, never the
   * workflow task (a plain Error there would retry the task forever).
   */
  const onUpdate = <I, A extends unknown[]>(def: UpdateDefinition<HotfixWindowState, A>, check: (raw: unknown) => I, apply: (input: I) => void, description: string) =>
    setHandler(
      def,
      (...args: A) => {
        let input: I;
        try {
          input = check(args[0]);
        } catch (err) {
          throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidHotfixMessage');
        }
        apply(input);
        return s;
      },
      { validator: (...args: A) => void check(args[0]), description },
    );

  // ---- messages -------------------------------------------------------------------------------
  setHandler(windowState, () => s);

  setHandler(attachFinding, (raw) => {
    const r = AttachFindingSchema.safeParse(raw);
    if (!r.success) return void note('ignored invalid attachFinding', r.error.issues[0]?.message);
    const f = r.data;
    if (s.findings.some((x) => x.findingId === f.findingId)) return;
    if (s.status === 'closed') return void note('ignored attachFinding', `${f.findingId}: the window is closed`);
    if (s.findings.length >= MAX_FINDINGS) return void note('ignored attachFinding', `${f.findingId}: the window already holds ${MAX_FINDINGS} findings`);
    s.findings.push({ ...f, attachedAt: new Date().toISOString() });
    note('attached', `${f.findingId} ${f.driftClass} on ${f.resourceRef} by ${f.actor}`);
    pending.push({ step: `attached-${f.findingId}`, data: f });
  });

  const validateResolve = (raw: unknown) => {
    const r = parseHotfixMessage(ResolveFindingSchema, raw, 'resolveFinding');
    const f = s.findings.find((x) => x.findingId === r.findingId);
    if (!f) throw new HotfixRefused(`finding ${r.findingId} is not attached to this window`);
    if (f.resolution) throw new HotfixRefused(`finding ${r.findingId} already has a reconciliation path (${f.resolution.resolution})`);
    if (s.status === 'closed') throw new HotfixRefused('the window is closed');
    if (r.resolution === 'accepted') {
      // Accepting emergency drift as it is is a decision: a listed approver, never the break-glass actor.
      if (!approverPerson(r.by, parties().approvers)) throw new HotfixRefused(`${r.by} is not a listed approver of ${s.unit}: only an approver may accept a finding`);
      if (isActor(r.by)) throw new HotfixRefused(`${r.by} is a declared break-glass actor of this window and may not accept its own change`);
    } else if (!teamPerson(r.by, parties())) {
      throw new HotfixRefused(`${r.by} is neither an approver of ${s.unit} nor a member of its owning team`);
    }
    return r;
  };
  onUpdate(
    resolveFinding,
    validateResolve,
    (r) => {
      const f = s.findings.find((x) => x.findingId === r.findingId)!;
      f.resolution = { resolution: r.resolution, ...(r.reference ? { reference: r.reference } : {}), by: r.by, reason: r.reason, at: new Date().toISOString() };
      note('resolved', `${r.findingId}: ${r.resolution}${r.reference ? ` ${r.reference}` : ''} by ${r.by}: ${r.reason}`);
      pending.push({ step: `resolved-${r.findingId}`, data: r });
    },
    'A reconciliation path for an attached finding: {"findingId", "resolution": "pr"|"state-action"|"accepted", "reference", "by", "reason"}',
  );

  const validateExtend = (raw: unknown) => {
    const r = parseHotfixMessage(ExtendWindowSchema, raw, 'extendWindow');
    if (s.status !== 'open') throw new HotfixRefused(`the window is ${s.status}; only an open window can be extended`);
    if (s.extensions.length >= s.maxExtensions) throw new HotfixRefused(`the window was already extended ${s.extensions.length} time(s); policy allows ${s.maxExtensions}`);
    if (!approverPerson(r.by, parties().approvers)) throw new HotfixRefused(`${r.by} is not a listed approver of ${s.unit}`);
    if (isActor(r.by)) throw new HotfixRefused(`${r.by} is a declared break-glass actor of this window and may not extend it`);
    const ms = msToNumber((r.duration ?? w.window) as Duration);
    if (!(ms > 0) || ms > windowMs) throw new HotfixRefused(`an extension is at most the original window (${w.window})`);
    return { ...r, ms };
  };
  onUpdate(
    extendWindow,
    validateExtend,
    (r) => {
      periodStart = Date.now();
      deadline = deadline + r.ms;
      period++;
      sent = new Set();
      version++;
      s.deadline = iso(deadline);
      const duration = r.duration ?? w.window;
      s.extensions.push({ by: r.by, reason: r.reason, duration, at: new Date().toISOString(), deadline: s.deadline });
      note('extended', `by ${duration} to ${s.deadline}, approved by ${r.by}: ${r.reason}`);
      pending.push({
        step: `extended-${s.extensions.length}`,
        data: { by: r.by, reason: r.reason, duration, deadline: s.deadline, ...(r.statement === undefined ? {} : { statement: r.statement }) },
        notice: { kind: 'hotfix-extended', targets: s.notify, text: `hotfix window for ${s.incident} on ${s.unit} extended by ${duration} to ${s.deadline} (approved by ${r.by})` },
      });
    },
    'Extend the window: {"by": "approver@example.com", "reason": "why", "duration": "24h"}',
  );

  const validateClose = (raw: unknown) => {
    const r = parseHotfixMessage(CloseWindowSchema, raw, 'closeWindow');
    if (s.status === 'closed' || closing) throw new HotfixRefused('the window is already closed');
    if (!teamPerson(r.by, parties())) throw new HotfixRefused(`${r.by} is neither an approver of ${s.unit} nor a member of its owning team`);
    const open = unresolved();
    if (open.length > 0) throw new HotfixRefused(`${open.length} attached finding(s) have no reconciliation path yet (${open.join(', ')}): record a PR or state action, or accept them, first`);
    return r;
  };
  onUpdate(
    closeWindow,
    validateClose,
    (r) => {
      closing = { by: r.by, reason: r.reason };
      note('closing', `by ${r.by}: ${r.reason}`);
    },
    'Close the window: {"by": "you@example.com", "reason": "why"}',
  );

  // ---- open -----------------------------------------------------------------------------------
  upsertSearchAttributes([
    { key: UnitKey, value: w.unit },
    { key: HotfixIncidentKey, value: w.incident },
    { key: WindowStateKey, value: 'open' },
  ]);
  note('opened', `${w.window} for ${w.incident} by ${w.openedBy}: ${w.reason}`);
  opened = await acts.openHotfixWindow({ ...ids, window: w, at: s.openedAt });
  s.owner = opened.owner;
  s.approvers = opened.approvers.map((a) => a.email);
  s.actorPersons = opened.actorPersons;
  s.notify = opened.notify;
  s.maxExtensions = opened.maxExtensions;

  const flush = async () => {
    while (pending.length > 0) {
      const p = pending.shift()!;
      await acts.recordHotfixStep({ ...ids, step: p.step, at: new Date().toISOString(), data: p.data, ...(p.notice ? { notice: p.notice } : {}) });
    }
  };
  const close = async (by: string, reason: string, outcome: 'reconciled' | 'closed') => {
    setStatus('closed');
    s.closed = { by, reason, at: new Date().toISOString(), outcome };
    note('closed', `${outcome} by ${by}: ${reason}`);
    await flush();
    await acts.recordHotfixStep({
      ...ids,
      step: 'closed',
      at: s.closed.at,
      data: { ...s.closed, findings: s.findings, extensions: s.extensions },
      notice: { kind: 'hotfix-closed', targets: s.notify, text: `hotfix window for ${s.incident} on ${s.unit} closed (${outcome}) by ${by}: ${reason}` },
    });
  };

  // ---- the window's clock ---------------------------------------------------------------------
  for (;;) {
    await flush();
    if (closing) {
      await close(closing.by, closing.reason, 'closed');
      break;
    }
    if (s.status === 'open') {
      const next = HOTFIX_REMINDERS.filter((p) => !sent.has(p)).map((p) => ({ p, at: periodStart + p * (deadline - periodStart) }))[0];
      const wakeAt = next ? Math.min(next.at, deadline) : deadline;
      const seen = version;
      const woken = await condition(() => pending.length > 0 || closing !== undefined || version !== seen, Math.max(1, wakeAt - Date.now()));
      if (woken) continue;
      const now = Date.now();
      if (next && now >= next.at && next.at < deadline) {
        sent.add(next.p);
        const percent = Math.round(next.p * 100);
        s.reminders.push({ percent, at: iso(now) });
        note('reminder', `${percent}% of the window; ${unresolved().length} finding(s) without a reconciliation path`);
        await acts.remindHotfixWindow({ ...ids, percent, period, at: iso(now), deadline: s.deadline, unresolved: unresolved(), notify: s.notify });
        continue;
      }
      if (now < deadline) continue;
      const open = unresolved();
      if (open.length === 0) {
        await close('system:expiry', s.findings.length ? 'the window expired; every attached finding has a reconciliation path or was accepted' : 'the window expired with no emergency drift attached', 'reconciled');
        break;
      }
      setStatus('escalated');
      s.escalation = { at: iso(now), unresolved: open };
      note('escalated', `${open.length} finding(s) without a reconciliation path: ${open.join(', ')}`);
      await acts.escalateHotfixWindow({ ...ids, at: iso(now), unresolved: open, notify: s.notify });
    } else {
      // Expired and escalated: the window waits until each finding has a path (or someone closes it).
      await condition(() => pending.length > 0 || closing !== undefined || unresolved().length === 0);
      if (pending.length > 0 || closing) continue;
      await close('system', 'every attached finding now has a reconciliation path or was accepted (after escalation)', 'reconciled');
      break;
    }
  }
  await condition(allHandlersFinished);
  return s;
}
