/** Plan normalization, redaction and scrubbing for OpenTofu/Terraform plans (pure). */
export * from './changed-paths';
export * from './identity';
export * from '../json-pointer';
export * from './normalize-plan';
export * from './normalized-plan-schema';
export * from './redact-plan';
export * from './scrub';
export * from './lock-file';
export * from './plan-observations';
