import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetActivities } from '../../../activities/budgets';
import type { Notification, Notifier } from '../../../activities/notify/console-notifier';
import { openLedger, type Ledger } from '../../../ledger';
import { loadRegistryOrThrow } from '../../../registry';
import { dropDatabase, LEDGER_ENGINES } from '../../support/ledger-db';
import { repoRoot } from '../../support/shared-fixtures';

const T = Date.parse('2026-07-01T12:00:00Z');
const MIN = 60_000;
const registryDir = path.join(repoRoot, 'registry', 'examples', 'acme');

/** Keeps every notification it is given. */
class RecordingNotifier implements Notifier {
  readonly sent: Notification[] = [];
  async send(n: Notification): Promise<void> {
    this.sent.push(n);
  }
}

describe.each(LEDGER_ENGINES)('evaluateBudgets activity ($engine)', ({ engine, url }) => {
  let ledger: Ledger;
  let dbUrl: string;
  const notifier = new RecordingNotifier();

  beforeAll(async () => {
    dbUrl = await url();
    ledger = await openLedger(dbUrl);
    // Every unit of the registry was detected a minute before T: no budget breaks its detection interval.
    const registry = await loadRegistryOrThrow(registryDir);
    for (const name of registry.units.keys()) {
      await ledger.db.query("INSERT INTO unit_detection (unit, first_seen_at, last_success_at, last_result) VALUES ($1, $2, $2, 'ok')", [name, new Date(T - MIN)]);
    }
    // One unclassified drift on a prod IAM unit, 10 minutes old: prod-iam allows 0 unclassified (maxUnclassified 0).
    await ledger.db.query(
      `INSERT INTO lifecycles (finding_id, run_id, unit, resource_ref, stage, detected_at, updated_at)
       VALUES ('prod-iam-baseline:abc', 'r1', 'prod-iam-baseline', 'aws_iam_role.deploy', 'detected', $1, $1)`,
      [new Date(T - 10 * MIN)],
    );
  }, 60_000);

  afterAll(async () => {
    await ledger?.close();
    if (engine === 'postgres') await dropDatabase(dbUrl);
  });

  /** Every unit detected a minute before `at` (several budgets ask for a detection every 5 minutes). */
  const detectedBefore = (at: number) => ledger.db.query('UPDATE unit_detection SET last_success_at = $1', [new Date(at - MIN)]);

  it('routes an exhausted budget once to its route’s targets, sends nothing while it stays exhausted, and tells the same targets when it recovers', async () => {
    const acts = createBudgetActivities({ db: ledger.db, notifier, registryDir, budgetWindow: '30d' });

    const first = await acts.evaluateBudgets({ at: new Date(T).toISOString() });
    expect(first.reports.filter((r) => r.state !== 'ok').map((r) => [r.budget, r.state])).toEqual([['prod-iam', 'exhausted']]);
    // Unclassified drift is routed as unauthorized: the security-critical policy's prod-iam-unauthorized route
    // (#security-oncall, and the platform-identity team's channel).
    expect(notifier.sent).toEqual([
      {
        kind: 'budget-exhausted',
        findingId: 'budget:prod-iam',
        targets: ['slack:#security-oncall', 'slack:#platform-identity-oncall'],
        text: expect.stringMatching(/^drift budget prod-iam \(prod iam, risk ≥ high\) is exhausted; 100 % of the error budget left: maxUnclassified broken: 1 open finding\(s\) not yet classified \(at most 0\)$/),
      },
    ]);
    expect(first.notified).toEqual([{ budget: 'prod-iam', kind: 'budget-exhausted', targets: ['slack:#security-oncall', 'slack:#platform-identity-oncall'], route: 'security-critical#0 (prod-iam-unauthorized)' }]);

    await detectedBefore(T + 5 * MIN);
    const second = await acts.evaluateBudgets({ at: new Date(T + 5 * MIN).toISOString() });
    expect(second.notified).toEqual([]);
    expect(notifier.sent).toHaveLength(1);

    // The finding is classified (on time, 20 min after detection) and closed: the budget is ok again.
    await ledger.db.query(
      `UPDATE lifecycles SET environment = 'prod', domain = 'iam', risk_rank = 4, drift_class = 'UNAUTHORIZED_RUNTIME_DRIFT',
              classified_at = $1, closed_at = $2, outcome = 'RECONCILED', stage = 'closed' WHERE finding_id = 'prod-iam-baseline:abc'`,
      [new Date(T + 10 * MIN), new Date(T + 12 * MIN)],
    );
    await detectedBefore(T + 13 * MIN);
    const third = await acts.evaluateBudgets({ at: new Date(T + 13 * MIN).toISOString() });
    expect(third.reports.every((r) => r.state === 'ok')).toBe(true);
    expect(notifier.sent[1]).toMatchObject({ kind: 'budget-recovered', findingId: 'budget:prod-iam', targets: ['slack:#security-oncall', 'slack:#platform-identity-oncall'], text: expect.stringMatching(/is ok again \(was exhausted\)/) });
    await detectedBefore(T + 14 * MIN);
    expect((await acts.evaluateBudgets({ at: new Date(T + 14 * MIN).toISOString() })).notified).toEqual([]);
    expect(notifier.sent).toHaveLength(2);
  });

  it('an evaluation interrupted after recording a change notifies on its retry', async () => {
    await ledger.db.query("UPDATE budget_alerts SET notified_at = NULL WHERE budget = 'prod-iam'");
    const before = notifier.sent.length;
    const acts = createBudgetActivities({ db: ledger.db, notifier, registryDir, budgetWindow: '30d' });
    await detectedBefore(T + 15 * MIN);
    const r = await acts.evaluateBudgets({ at: new Date(T + 15 * MIN).toISOString() });
    expect(r.notified.map((n) => n.kind)).toEqual(['budget-recovered']);
    expect(notifier.sent).toHaveLength(before + 1);
  });
});
