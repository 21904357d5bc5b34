/** Reconciliation PRs in a local Git repository, with real `git` (the embedded default and the demo's). */
export * from './errors';
export * from './pr-provider';
