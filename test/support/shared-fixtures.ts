import { existsSync } from 'node:fs';
import path from 'node:path';

/** The repository root. */
export const repoRoot = path.resolve(__dirname, '../..');

/** `../shared` beside the clone (or $DRIFTPLANE_SHARED_DIR). Fixtures are read from here at test time, never copied. */
export const sharedDir = process.env.DRIFTPLANE_SHARED_DIR ?? path.resolve(repoRoot, '../shared');

/** Absolute path of a file under ../shared/fixtures; fails loudly when the shared folder is missing. */
export function sharedFixture(...parts: string[]): string {
  const p = path.join(sharedDir, 'fixtures', ...parts);
  if (!existsSync(p)) throw new Error(`shared fixture not found: ${p} (is ../shared beside the clone?)`);
  return p;
}
