/** Incident adapters: PagerDuty Events API v2, GitHub issues, and the console (the embedded default). */
export * from './adapter-for';
export * from './console-incident';
export * from './github-issue-incident';
export * from './incident-adapter';
export * from './pagerduty-incident';
