/** Audit correlation core: CloudTrail parsing, actor classification and finding-to-event matching. */
export * from './actor';
export * from './cloudtrail';
export * from './correlate';
export * from './k8s-audit';
export * from './matching-change';
