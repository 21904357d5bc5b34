/** Joined context (issue 11 §4): the pure matching of freezes, incidents, compliance policies, cost and dependencies. */
export * from './freeze';
export * from './incident';
export * from './compliance';
export * from './cost';
export * from './dependency';
