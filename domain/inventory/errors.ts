/** A recorded state could not be understood. `source` names the file or `s3://bucket/key`; `field` is a JSON pointer. */
export class StateFormatError extends Error {
  override readonly name = 'StateFormatError';
  constructor(
    message: string,
    readonly source: string,
    readonly field?: string,
  ) {
    super(`${source}${field ? ` field ${field}` : ''}: ${message}`);
  }
}

/** A policy document (trust or permissions policy) is not valid JSON, even after URL-decoding. */
export class PolicyDocumentError extends Error {
  override readonly name = 'PolicyDocumentError';
  constructor(
    message: string,
    readonly attribute: string,
  ) {
    super(`${attribute}: ${message}`);
  }
}
