/** The registry's pure core: schemas, checks, resolution, route matching and path wildcards. */
export * from './schemas';
export * from './model';
export * from './paths';
export * from './durations';
export * from './resolve';
export * from './match-route';
export * from './auto-heal-scope';
export * from './validate-document';
export * from './check-references';
export * from './lint-ignore-rules';
export * from './check-registry';
export * from './json-schema';
export * from './zod-issues';
