import { ToolError } from '../domain/errors';
import { redactUrl } from '../ledger/db';

/** Why a command could not open the ledger at `url`, and what to do about it (the password never shown). */
export function ledgerOpenError(url: string, err: unknown): ToolError {
  return new ToolError(
    `cannot open the ledger at ${redactUrl(url)}: ${err instanceof Error ? err.message : String(err)}`,
    url.startsWith('pglite:')
      ? 'PGlite serves one process at a time: stop `driftplane dev`/the demo first, or use PostgreSQL (DRIFTPLANE_LEDGER_URL=postgres://...)'
      : 'is PostgreSQL running and the URL right? (docs/ledger.md)',
  );
}
