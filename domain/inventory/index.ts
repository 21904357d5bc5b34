/** Inventory scan core: tfstate v4 parsing, normalization and the recorded-vs-actual comparison. */
export * from './compare';
export * from './coverage';
export * from './errors';
export * from './findings';
export * from './identity';
export * from './normalize';
export * from './policy-document';
export * from './resource-types';
export * from './tfstate';
