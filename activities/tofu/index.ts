/** Activities that run OpenTofu/Terraform for drift detection. */
export * from './apply';
export * from './process-group';
export * from './run-plan';
export * from './working-copy';
export * from './plan-detector';
export * from './unit-workdir';
