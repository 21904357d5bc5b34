/**
 * The MIGRATION_PLAN action (§18): database drift is reconciled through a migration written and
 * reviewed by people, never by a controller reverting the schema (a blind rollback can destroy
 * data). driftplane only writes the skeleton: the differences it detected and the TODOs of the
 * forward and backward steps. The file never auto-applies.
 *
 * Pure: the time is passed in.
 */
import type { DriftClass } from '../classify/vocabulary';
import { fnv1a64 } from '../fingerprint';
import type { UnitDomain } from '../registry/schemas';
import { visible } from '../terminal-text';
import { mdCode, mdRow, mdText } from './markdown';

/** One detected difference (values already redacted upstream). */
export interface MigrationField {
  path: string;
  kind: 'changed' | 'added' | 'removed';
  desired?: unknown;
  actual?: unknown;
}

/** What the migration plan skeleton is built from. */
export interface MigrationInput {
  /** `<unit>:<fingerprint>`. */
  findingId: string;
  unit: string;
  resourceRef: string;
  changedFields: readonly MigrationField[];
  driftClass: DriftClass;
  /** When the plan is written; the file name's timestamp. */
  now: Date;
  /** The repository folder of the unit's migrations, e.g. `db/migrations`. */
  migrationsPath: string;
  /** A `database` unit gets a `.sql` file; anything else a Markdown plan. */
  unitDomain?: UnitDomain;
}

/** The migrations path is not a plain relative folder of the repository. */
export class MigrationPathError extends Error {
  override readonly name = 'MigrationPathError';
  constructor(readonly migrationsPath: string) {
    super(`migrations path ${JSON.stringify(migrationsPath)} must be a relative folder of the repository without ".." segments`);
  }
}

/** `20260703T101500Z` → `20260703101500`: the UTC timestamp migration tools sort by. */
function stamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, '').replace(/[-:T]/g, '');
}

/** The first 8 hex characters of the finding's fingerprint (hashed when the id has none). */
function shortFingerprint(findingId: string): string {
  const at = findingId.indexOf(':');
  const fp = at > 0 ? findingId.slice(at + 1) : '';
  return (/^[0-9a-f]{8,}$/.test(fp) ? fp : fnv1a64(findingId)).slice(0, 8);
}

function json(value: unknown): string {
  if (value === undefined) return '(absent)';
  return visible(JSON.stringify(value) ?? String(value));
}

/** One SQL comment line: nothing in `text` can end the comment (newlines and controls are escaped). */
function sqlComment(text: string): string {
  return `-- ${visible(text)}`.trimEnd();
}

function sqlSkeleton(i: MigrationInput, fileName: string): string {
  const lines: string[] = [
    '-- driftplane migration plan skeleton. NEVER APPLIED AUTOMATICALLY (domain text §18).',
    '--',
    '-- driftplane wrote this file and will never run it. Database drift is reconciled through',
    '-- migrations: a person completes the forward and backward steps, verifies backward',
    '-- compatibility, and applies it through the database change pipeline.',
    '--',
    sqlComment(`File:        ${fileName}`),
    sqlComment(`Finding:     ${i.findingId}`),
    sqlComment(`Unit:        ${i.unit}`),
    sqlComment(`Resource:    ${i.resourceRef}`),
    sqlComment(`Drift class: ${i.driftClass}`),
    sqlComment(`Generated:   ${i.now.toISOString()}`),
    '--',
    '-- Detected differences (desired = the migrations in Git, actual = the live database):',
  ];
  for (const f of i.changedFields)
    lines.push(sqlComment(`  ${f.path}  ${f.kind}  desired: ${json(f.desired)}  actual: ${json(f.actual)}`));
  lines.push(
    '',
    '-- Remove this guard only when every TODO below is done and the plan is reviewed.',
    "DO $$ BEGIN RAISE EXCEPTION 'driftplane migration skeleton: complete the TODOs before applying'; END $$;",
    '',
    '-- ---------------------------------------------------------------- forward',
    '-- TODO(forward): decide per difference whether the live change is accepted (write it here as',
    '-- a migration) or reverted (write the statement that restores the desired schema).',
  );
  for (const f of i.changedFields) lines.push(sqlComment(`TODO(forward): ${f.path} (${f.kind})`));
  lines.push(
    '',
    '-- ---------------------------------------------------------------- backward',
    '-- TODO(backward): the statements that undo the forward steps without losing data; say so',
    '-- explicitly when a step cannot be undone.',
  );
  for (const f of i.changedFields) lines.push(sqlComment(`TODO(backward): ${f.path} (${f.kind})`));
  lines.push(
    '',
    '-- ---------------------------------------------------------------- verification',
    '-- TODO(verify): the backward compatibility of the running application version with the',
    '-- forward schema, and the check that shows the drift is gone (the next detection run).',
  );
  return `${lines.join('\n')}\n`;
}

function mdSkeleton(i: MigrationInput, fileName: string): string {
  const lines: string[] = [
    `# Migration plan for ${mdCode(i.resourceRef)}`,
    '',
    '> **Never applied automatically** (domain text §18). driftplane wrote this plan and will not',
    '> carry it out: a person completes the steps, reviews them, and applies them through the',
    "> unit's change pipeline.",
    '',
    `- File: ${mdCode(fileName)}`,
    `- Finding: ${mdCode(i.findingId)}`,
    `- Unit: ${mdCode(i.unit)}`,
    `- Drift class: ${mdCode(i.driftClass)}`,
    `- Generated: ${i.now.toISOString()}`,
    '',
    '## Detected differences',
    '',
    mdRow(['Field', 'Change', 'Desired (Git)', 'Actual (runtime)']),
    mdRow(['---', '---', '---', '---']),
  ];
  for (const f of i.changedFields)
    lines.push(
      mdRow([
        mdCode(f.path, { inTable: true }),
        f.kind,
        mdCode(json(f.desired), { inTable: true }),
        mdCode(json(f.actual), { inTable: true }),
      ]),
    );
  lines.push('', '## Forward steps', '');
  for (const f of i.changedFields) lines.push(`- [ ] TODO: ${mdCode(f.path)} (${f.kind}): accept into desired state or restore it`);
  lines.push('', '## Backward steps', '');
  for (const f of i.changedFields) lines.push(`- [ ] TODO: undo the forward step for ${mdCode(f.path)} without losing data`);
  lines.push('', '## Verification', '', `- [ ] TODO: ${mdText('backward compatibility checked; the next detection run reports no drift')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * A migration plan skeleton for a finding: `<migrationsPath>/<YYYYMMDDHHMMSS>_driftplane_<fp8>.sql`
 * for a database unit (SQL comments, and a guard statement that fails if someone runs it
 * unfinished), `.md` otherwise. Both say the plan never auto-applies, list the detected
 * differences, and hold forward/backward TODOs. Throws `MigrationPathError` on an absolute path or
 * one with `..` segments.
 */
export function migrationSkeleton(input: MigrationInput): { path: string; content: string } {
  const dir = input.migrationsPath.replace(/\/+$/, '').replace(/^\.\//, '');
  if (dir === '' || dir.startsWith('/') || /^[A-Za-z]:/.test(dir) || dir.split(/[\\/]/).includes('..'))
    throw new MigrationPathError(input.migrationsPath);
  if (Number.isNaN(input.now.getTime())) throw new RangeError('migrationSkeleton: now is not a valid date');
  const sql = input.unitDomain === 'database';
  const fileName = `${stamp(input.now)}_driftplane_${shortFingerprint(input.findingId)}.${sql ? 'sql' : 'md'}`;
  const path = `${dir}/${fileName}`;
  return { path, content: sql ? sqlSkeleton(input, fileName) : mdSkeleton(input, fileName) };
}
