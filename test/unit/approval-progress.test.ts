import { describe, expect, it } from 'vitest';
import { findingMessage } from '../../activities/slack/finding-message';
import { approvalProgressText } from '../../serve/slack/approval-progress';

// "1 of 2 approvals": what the CLI prints and the finding's Slack message shows while a quorum is incomplete.
describe('approval progress', () => {
  it('is said for an approval short of the quorum, and only then', () => {
    expect(approvalProgressText({ findingId: 'u:1', answer: 'approved', approver: 'maria.lopez@acme.example', approvals: 1, required: 2 }, 'slack')).toBe(
      '1 of 2 approvals: maria.lopez@acme.example (slack); waiting for another approver',
    );
    expect(approvalProgressText({ findingId: 'u:1', answer: 'approved', approver: 'priya.nair@acme.example', approvals: 2, required: 2 }, 'cli')).toBeUndefined();
    expect(approvalProgressText({ findingId: 'u:1', answer: 'rejected', approver: 'priya.nair@acme.example' }, 'cli')).toBeUndefined();
    // A lifecycle from before the quorum patch returns no counts: nothing to say.
    expect(approvalProgressText({ findingId: 'u:1', answer: 'approved', approver: 'maria.lopez@acme.example' }, 'cli')).toBeUndefined();
  });

  it('the Slack message says how many distinct approvers a finding needs, and why', () => {
    const details = {
      unit: 'payments-prod-network',
      resourceRef: 'aws_security_group.payments_app',
      driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
      risk: 'CRITICAL',
      recommendedAction: 'INCIDENT_AND_REVERT',
      changedFields: ['/ingress'],
      rules: [],
      approvers: ['noah.fischer@acme.example', 'marco.bianchi@acme.example'],
      needsPerson: true,
      requiredApprovals: 2,
      approvalNotes: ['CRITICAL INCIDENT_AND_REVERT: 2 distinct approvers required by policy'],
    };
    const m = findingMessage('payments-prod-network:e9c9', details, { status: ['1 of 2 approvals: noah.fischer@acme.example (cli); waiting for another approver'], open: true });
    const text = JSON.stringify(m.blocks);
    expect(text).toContain('Needs 2 distinct approvers (CRITICAL INCIDENT_AND_REVERT: 2 distinct approvers required by policy)');
    expect(text).toContain('1 of 2 approvals: noah.fischer@acme.example (cli)');
    expect(m.blocks.some((b) => b.type === 'actions')).toBe(true);
    const single = findingMessage('u:1', { ...details, requiredApprovals: undefined, approvalNotes: undefined } as never, { status: [], open: true });
    expect(JSON.stringify(single.blocks)).not.toContain('distinct approvers');
  });
});
