import { describe, expect, it } from 'vitest';
import {
  classify,
  DecisionTableSchema,
  RISK_ORDER,
  raiseRisk,
  type ClassifyInput,
  type Risk,
} from '../../../domain/classify';
import { InputError } from '../../../domain/errors';
import { applyDecisionTableOverrides } from '../../../registry/decision-table';
import { NOW, inputOf, networkStack, statelessApp, table } from './support';

// "Reopen on regression": a finding that closed RECONCILED comes back within the unit's reopen
// window. The scan marks the observation (`regression`), the lifecycle passes it as
// `context.regression`, and the table's `regression-reopened` rule raises risk one step.
const regression = {
  previousRunId: '0190c1c4-prev-run',
  previousOutcome: 'RECONCILED',
  closedAt: '2026-07-01T08:00:00.000Z',
};

const reopened = (input: ClassifyInput): ClassifyInput => ({ ...input, context: { ...input.context, regression } });

const fired = (input: ClassifyInput, t = table) => classify(input, t, { now: NOW }).reasons.map((r) => r.ruleId);

describe('regression-reopened', () => {
  // Inputs that land on each risk level without the regression: every step of the ladder is raised.
  const cases: [string, ClassifyInput, Risk][] = [
    ['controller-owned replicas (INFO)', inputOf(statelessApp, { change: { changedFields: ['/spec/replicas'], fieldOwners: { '/spec/replicas': 'hpa' } }, context: { actor: { id: 'hpa', type: 'controller' } } }), 'INFO'],
    ['a label changed on a stateless app (LOW)', inputOf(statelessApp), 'LOW'],
    ['a manual change of a container env (MEDIUM)', inputOf(statelessApp, { change: { changedFields: ['/spec/template/spec/containers/0/env/0/value'] } }), 'MEDIUM'],
    ['a security group opened by hand in production (CRITICAL)', inputOf(networkStack), 'CRITICAL'],
  ];

  it.each(cases)('%s: the same change reopened is one risk step higher, and the rule is listed', (_name, input, expected) => {
    const plain = classify(input, table, { now: NOW });
    expect(plain.risk).toBe(expected);
    expect(plain.reasons.map((r) => r.ruleId)).not.toContain('regression-reopened');

    const again = classify(reopened(input), table, { now: NOW });
    expect(again.risk).toBe(raiseRisk(expected, 1));
    expect(again.finding.risk).toBe(again.risk);
    expect(again.routeHints.labels.risk).toBe(again.risk);
    // Nothing but the risk changes: the regression is a modifier, not a classification.
    expect(again.driftClass).toBe(plain.driftClass);
    expect(again.recommendedAction).toBe(plain.recommendedAction);
    const reason = again.reasons.find((r) => r.ruleId === 'regression-reopened');
    expect(reason?.why).toContain(`run ${regression.previousRunId} (RECONCILED at ${regression.closedAt})`);
  });

  it('raises exactly one step from each level, and CRITICAL stays CRITICAL', () => {
    expect(RISK_ORDER.map((r) => raiseRisk(r, 1))).toEqual(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'CRITICAL']);
    const critical = classify(reopened(inputOf(networkStack)), table, { now: NOW });
    expect(critical.risk).toBe('CRITICAL');
    expect(critical.reasons.map((r) => r.ruleId)).toContain('regression-reopened');
  });

  it('a registry that removes the rule removes the raise', () => {
    const input = inputOf(statelessApp);
    const merged = applyDecisionTableOverrides(table, { rules: [], remove: ['regression-reopened'] });
    expect(classify(reopened(input), merged, { now: NOW }).risk).toBe('LOW');
    expect(fired(reopened(input), merged)).not.toContain('regression-reopened');
  });

  it('a registry that overrides the rule by id decides the raise (none, or two steps)', () => {
    const input = reopened(inputOf(statelessApp));
    const rule = table.rules.find((r) => r.id === 'regression-reopened');
    if (!rule) throw new Error('the default table has no regression-reopened rule');
    const noRaise = applyDecisionTableOverrides(table, [{ ...rule, why: 'acme: a regression is only noted', then: {} }]);
    const d = classify(input, noRaise, { now: NOW });
    expect(d.risk).toBe('LOW');
    expect(d.reasons.find((r) => r.ruleId === 'regression-reopened')?.why).toBe('acme: a regression is only noted');
    const twoSteps = applyDecisionTableOverrides(table, [{ ...rule, then: { riskRaise: 2 } }]);
    expect(classify(input, twoSteps, { now: NOW }).risk).toBe('HIGH');
  });

  it('a raise comes after floors and before caps: an active exception still caps it', () => {
    // production-floor makes this MEDIUM; the raise makes it HIGH.
    const floored = inputOf(statelessApp, { change: { changedFields: ['/spec/template/spec/containers/0/env/0/value'] } });
    expect(classify(reopened(floored), table, { now: NOW }).risk).toBe('HIGH');
    const excepted = inputOf(statelessApp, { context: { exception: { id: 'EXC-1', expiresAt: '2026-08-01T00:00:00Z' } } });
    const d = classify(reopened(excepted), table, { now: NOW });
    expect(d.risk).toBe(classify(excepted, table, { now: NOW }).risk);
    expect(d.reasons.map((r) => r.ruleId)).toContain('exception-active');
  });

  it('riskRaise is validated: a whole number of steps from 1 to 4', () => {
    const doc = (then: unknown) => ({ ...table, rules: [{ id: 'r', why: 'w', when: {}, then }] });
    expect(DecisionTableSchema.safeParse(doc({ riskRaise: 1 })).success).toBe(true);
    for (const bad of [0, -1, 1.5, 5, 'one']) expect(DecisionTableSchema.safeParse(doc({ riskRaise: bad })).success, String(bad)).toBe(false);
    expect(() => applyDecisionTableOverrides(table, [{ id: 'r', why: 'w', when: { regression: true }, then: { riskRaise: 0 } }])).toThrow(InputError);
  });

  it('regression is a strict context object: no extra keys, closedAt an ISO instant', () => {
    const base = inputOf(statelessApp) as unknown as Record<string, Record<string, unknown>>;
    expect(() => inputOf(base, { context: { regression: { ...regression, extra: 1 } } })).toThrow();
    expect(() => inputOf(base, { context: { regression: { ...regression, closedAt: 'yesterday' } } })).toThrow();
  });
});
