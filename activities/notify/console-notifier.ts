/** Budget state changes (activities/budgets): a budget started burning, is exhausted, or recovered. */
export type BudgetNotificationKind = 'budget-burning' | 'budget-exhausted' | 'budget-recovered';

/** A notification about a finding, to a routing target (Slack channel, issue repo, on-call, ...). */
export interface Notification {
  kind: 'routed' | 'approval-requested' | 'escalated' | 'incident' | 'approval-progress' | 'answered' | 'closed' | HotfixNotificationKind | BudgetNotificationKind;
  findingId: string;
  targets: string[];
  text: string;
  /** What a rich message (Slack Block Kit) shows about the finding; set on `routed` and `approval-requested`. */
  details?: NotificationDetails;
}

/** The finding as a person deciding on it needs to see it. Values come from outside: render them escaped. */
export interface NotificationDetails {
  unit: string;
  resourceRef: string;
  driftClass: string;
  risk: string;
  recommendedAction: string;
  changedFields: string[];
  actor?: string;
  /** The decision table's rules that fired, and why. */
  rules: { ruleId: string; why: string }[];
  approvers: string[];
  /** Approve and Reject buttons are offered. */
  needsPerson: boolean;
  /** Distinct approvals needed (when more than one), and why. */
  requiredApprovals?: number;
  approvalNotes?: string[];
}

/** Notifications of a hotfix window (`findingId` then holds the window id). */
export type HotfixNotificationKind = 'hotfix-opened' | 'hotfix-reminder' | 'hotfix-extended' | 'hotfix-escalated' | 'hotfix-closed';

/** Where notifications go. Production: Slack Web API; on a laptop and in tests: the console. */
export interface Notifier {
  send(n: Notification): Promise<void>;
}

/**
 * Writes notifications as one line each to a stream (stderr by default) and keeps them in memory,
 * so the demo shows them and tests can read them. It is the embedded default, not a stand-in:
 * a deployment without Slack gets exactly this.
 */
export class ConsoleNotifier implements Notifier {
  readonly sent: Notification[] = [];
  constructor(private readonly out: { write(s: string): unknown } | undefined = process.stderr) {}

  async send(n: Notification): Promise<void> {
    this.sent.push(n);
    this.out?.write(`[notify ${n.kind}] ${n.findingId} → ${n.targets.join(', ') || '(no targets)'}: ${n.text}\n`);
  }
}
