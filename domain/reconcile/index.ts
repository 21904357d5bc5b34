/** Reconciliation artifacts (pure): PR bodies, manifest and OpenTofu edits, exceptions, migration plans. */
export * from './branch';
export * from './hcl';
export * from './ignore-exception';
export * from './manifest-edit';
export * from './markdown';
export * from './migration';
export * from './pr-body';
