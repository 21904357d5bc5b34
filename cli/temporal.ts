import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ToolError } from '../domain/errors';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';

/** Connects a Temporal client; an unreachable server is a ToolError (exit 3) that says what to do. */
export async function connectClient(address: string, namespace: string, connectTimeout = '5s'): Promise<{ client: Client; connection: Connection }> {
  try {
    const connection = await Connection.connect({ address, connectTimeout });
    return { client: new Client({ connection, namespace }), connection };
  } catch (err) {
    throw new ToolError(
      `cannot reach Temporal at ${address}: ${(err as Error).message}`,
      'start one with `driftplane dev` (or `npm run dev`), or set TEMPORAL_ADDRESS to a running server',
    );
  }
}

/** True when a Temporal frontend answers at the address. */
export async function isReachable(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: '1s' });
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
