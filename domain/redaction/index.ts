/**
 * Redaction of secrets at the detector boundary (issue 8): one module for every detector, the
 * plan path, evidence and log scrubbing. Pure: the HMAC is @noble/hashes, the key is passed in.
 * The rules are documented in docs/redaction.md.
 */
export {
  createRedactor,
  keylessRedactor,
  REDACTED,
  FINGERPRINT_HEX_LENGTH,
  secretLeaves,
  MIN_REDACTION_KEY_BYTES,
  type RedactionContext,
  type RedactionPatterns,
  type Redactor,
  type RedactorOptions,
} from './redactor';
export { isMetadataKey, isSecretDataKey, isSecretKey, isSecretResourceType, keyWords } from './keys';
export {
  containsRedactionToken,
  DEFAULT_TEXT_RULES,
  isRedactionToken,
  MIN_LITERAL_LENGTH,
  NON_SECRET_ENV_KEYS,
  REDACTION_TOKEN_SOURCE,
  secretEnvValues,
  type TextRule,
} from './text';
export { redactionPatternsOf, parseRedactionKey } from './policy';
