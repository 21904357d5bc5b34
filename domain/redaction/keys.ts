/**
 * Which keys name a secret. A key is split into lower-case words (camelCase, snake_case,
 * kebab-case, dotted and slashed annotation keys alike: `vault.io/agent-token` → vault, io,
 * agent, token), then judged by the rules below, in order. See docs/redaction.md for the table.
 */

/** The words of a key, lower case: `APIKey` → api, key; `DB_PASSWORD` → db, password. */
export function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** Any word containing one of these is a secret word (`dbpassword`, `secretaccesskey`, `x-api-token`). */
const STRONG_SUBSTRING = /password|passwd|passphrase|secret|token|credential|apikey|privatekey|cookie/;

/** Whole words that name a secret. `auth` is a word, so `author` and `oauth_scopes` are not. */
const STRONG_WORDS = new Set(['pwd', 'dsn', 'auth', 'authorization', 'creds', 'bearer']);

/**
 * A last word that says the key is about a secret, not the secret: `secretName`, `secretKeyRef`,
 * `password_length`, `token_ttl`, `kms_key_id`, `auth_url`. Values under such keys are shown.
 */
const METADATA_WORDS = new Set([
  'name', 'names', 'ref', 'refs', 'reference', 'references', 'arn', 'arns', 'id', 'ids',
  'path', 'paths', 'file', 'files', 'dir', 'url', 'urls', 'uri', 'endpoint', 'endpoints',
  'type', 'types', 'kind', 'period', 'ttl', 'length', 'size', 'count', 'enabled', 'disabled',
  'required', 'mode', 'policy', 'policies', 'version', 'versions', 'rotation', 'expiry',
  'expiration', 'expires', 'at', 'format', 'algorithm', 'selector', 'namespace', 'provider',
  'label', 'labels', 'template', 'store', 'field', 'fields', 'prefix', 'suffix', 'location',
  'region', 'source', 'sources', 'min', 'max', 'age', 'interval', 'timeout', 'strategy',
]);

/**
 * Words before a final `key` that make it a name, not a secret: `hash_key`, `partition_key`,
 * `sort_key`, `object_key`, `public_key`, `host_key`, `provider_config_key`, `label_key`.
 * Any other `<word>_key` (`api_key`, `stripe_key`, `encryption_key`, `tls.key`) is a secret.
 */
const NAME_KEY_QUALIFIERS = new Set([
  'hash', 'partition', 'sort', 'range', 'foreign', 'unique', 'composite', 'object',
  's3', 'cache', 'label', 'tag', 'map', 'public', 'host', 'node', 'shard', 'row', 'group',
  'lookup', 'index', 'idempotency', 'dedup', 'config', 'match', 'field', 'column', 'attribute',
  'item', 'cluster', 'resource', 'topology', 'metric', 'sharding', 'distribution', 'kms',
]);

/** Words before `key`/`keys` anywhere in a key that make it a secret (`api_keys`, `private_key_pem`). */
const SECRET_KEY_QUALIFIERS = new Set(['api', 'private', 'secret', 'access', 'signing', 'encryption', 'client', 'master', 'license', 'hmac', 'deploy']);

/** Last words of UPPER_SNAKE environment names that hold a secret (`DB_PASS`, `STRIPE_KEY`, `SENTRY_DSN`). */
const ENV_SECRET_LAST = new Set(['key', 'token', 'secret', 'pass', 'password', 'pwd', 'dsn', 'auth', 'credentials', 'creds', 'cookie']);

const ENV_NAME = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;

/** True when a key's last word marks it as metadata about a secret (its name, path, length...). */
export function isMetadataKey(key: string): boolean {
  const words = keyWords(key);
  const last = words.at(-1);
  if (last === undefined) return false;
  // A session id is a credential (a cookie), unlike a client id or a key id.
  if (last === 'id' && words.at(-2) === 'session') return false;
  return METADATA_WORDS.has(last);
}

/**
 * True when a key (an object key, an env var name, a flag without its dashes, an annotation key)
 * names a value that must not be shown. `key` and `keys` on their own are names (label selectors,
 * tolerations, `secretKeyRef.key`, S3 object keys, tag pairs), not secrets; `*_key` is a secret
 * unless its qualifier names something public or structural (see NAME_KEY_QUALIFIERS).
 * `extra` patterns (from the registry's RedactionPolicy) add to these rules and win over the
 * metadata exemption.
 */
export function isSecretKey(key: string, extra: readonly RegExp[] = []): boolean {
  if (extra.some((re) => re.test(key))) return true;
  const words = keyWords(key);
  const n = words.length;
  if (n === 0 || isMetadataKey(key)) return false;
  const last = words[n - 1] as string;
  if (last === 'id' && words[n - 2] === 'session') return true;
  for (let i = 0; i < n; i++) {
    const w = words[i] as string;
    const next = words[i + 1];
    const prev = words[i - 1];
    if (STRONG_SUBSTRING.test(w) || STRONG_WORDS.has(w)) return true;
    if ((w === 'key' || w === 'keys') && prev !== undefined && SECRET_KEY_QUALIFIERS.has(prev)) return true;
    if ((w === 'private' || w === 'session') && (next === undefined || next === 'key' || next === 'cookie')) return true;
    if (w === 'connection' && next === 'string') return true;
  }
  if (last === 'key' && n > 1 && !NAME_KEY_QUALIFIERS.has(words[n - 2] as string)) return true;
  if (ENV_NAME.test(key) && ENV_SECRET_LAST.has(last) && words[n - 2] !== 'public') return true;
  return false;
}

/** Kubernetes/OpenTofu resource types whose top-level data is secret as a whole. */
const SECRET_RESOURCE_TYPE =
  /(^|\/)(secret|sealedsecret)$|^kubernetes_secret(_v1)?$|^aws_secretsmanager_secret_version$|^google_secret_manager_secret_version$|^azurerm_key_vault_secret$|^vault_(generic_secret|kv_secret(_v2)?)$/i;

/** True for a resource type whose values are secret wholesale (a Kubernetes Secret, a secret version). */
export function isSecretResourceType(resourceType: string | undefined): boolean {
  return resourceType !== undefined && SECRET_RESOURCE_TYPE.test(resourceType);
}

const SECRET_DATA_KEYS = new Set(['data', 'stringData', 'binaryData', 'encryptedData', 'binary_data', 'data_wo', 'secret_string', 'secret_binary', 'secret_data', 'data_json', 'value']);

/**
 * True when a top-level key of a resource holds secret data wholesale: `data`/`stringData` of a
 * Kubernetes Secret (and the like: SealedSecret `encryptedData`, `kubernetes_secret.data`,
 * `aws_secretsmanager_secret_version.secret_string`). `stringData` is secret whatever the type
 * says, and so is `data` unless the type is known not to be a Secret's: a ConfigMap's data is
 * not confidential by definition and is still checked key by key and value by value.
 */
export function isSecretDataKey(key: string, resourceType: string | undefined): boolean {
  if (isSecretResourceType(resourceType)) return SECRET_DATA_KEYS.has(key);
  if (key === 'stringData') return true;
  if (key === 'data') return !/(^|\/)configmap$/i.test(resourceType ?? '');
  return false;
}
