/**
 * One ledger per `describe.each(LEDGER_ENGINES)` block: opened (and migrated) before its tests,
 * closed and its PostgreSQL database dropped after them, optionally seeded once and with tables
 * emptied before each test. Read `h.ledger` and `h.url` inside tests and hooks.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { openLedger, type Ledger } from '../../ledger';
import { dropDatabase, type LEDGER_ENGINES } from './ledger-db';

/** The ledger of one engine's block. */
export interface LedgerHandle {
  ledger: Ledger;
  url: string;
}

/** Opens a fresh ledger of `engine` for the enclosing describe block. */
export function useLedgerOn(
  { engine, url: freshUrl }: (typeof LEDGER_ENGINES)[number],
  opts: { truncate?: string[]; seed?: (ledger: Ledger) => Promise<void> } = {},
): LedgerHandle {
  const h = {} as LedgerHandle;
  beforeAll(async () => {
    h.url = await freshUrl();
    h.ledger = await openLedger(h.url);
    await opts.seed?.(h.ledger);
    // PGlite takes seconds to start, more on a busy machine.
  }, 60_000);
  afterAll(async () => {
    await h.ledger?.close();
    if (engine === 'postgres' && h.url) await dropDatabase(h.url);
  });
  if (opts.truncate?.length) {
    beforeEach(async () => {
      await h.ledger.db.exec(`TRUNCATE ${opts.truncate!.join(', ')}`);
    });
  }
  return h;
}
