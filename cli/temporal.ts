import type { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';
import { connectTemporal, connectTemporalClient, loadTemporalConnection, withTarget } from '../workers/connection';

export { useConnectionFlags, type ConnectionFlags } from './connection-flags';

/**
 * Connects a Temporal client to `address` and `namespace` (the config's, already resolved from the
 * flags, TEMPORAL_* and the envconfig profile), with the profile's TLS, API key and gRPC metadata
 * (workers/connection.ts). A failure is a ToolError (exit 3) naming the address, the profile and
 * its TLS files, with what to check.
 */
export async function connectClient(address: string, namespace: string, connectTimeout = '5s'): Promise<{ client: Client; connection: Connection }> {
  return connectTemporal(withTarget(loadTemporalConnection(process.env), { address, namespace }), { connectTimeout });
}

/** True when a Temporal frontend answers at the address (with the profile's TLS settings). */
export async function isReachable(address: string): Promise<boolean> {
  try {
    const connection = await connectTemporalClient(withTarget(loadTemporalConnection(process.env), { address }), { connectTimeout: '1s' });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

/** Registers driftplane's search attributes (all Keyword) where the server lacks them. Idempotent. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTE_KEYS.filter((k) => !have.has(k.name));
  if (missing.length > 0) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
    });
  }
  return missing.map((k) => k.name);
}
