import { createHash } from 'node:crypto';
import { z } from 'zod';
import { statementProblems } from './statement-check';

/**
 * The schema version new records carry in `v`. Records written before versions existed have no
 * `v`; they hash and verify exactly as they were written.
 */
export const EVIDENCE_SCHEMA_VERSION = 1;

/** `$id` of the published JSON Schema of a record (`driftplane schema evidence`). */
export const evidenceRecordSchemaId = `https://driftplane.io/schemas/evidence-record/v${EVIDENCE_SCHEMA_VERSION}.json`;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits (SHA-256)');

/**
 * One evidence record as it is stored and hashed: what happened at one step of one finding's
 * lifecycle (or of a hotfix window), chained to the record before it.
 */
export const EvidenceRecordSchema = z
  .strictObject({
    v: z
      .literal(EVIDENCE_SCHEMA_VERSION)
      .optional()
      .describe(
        'Schema version of the record. Absent in records written before versions existed (they still verify).',
      ),
    findingId: z
      .string()
      .min(1)
      .describe('The finding (or hotfix window) whose lifecycle this record is a step of.'),
    seq: z.number().int().min(1).describe("Position in the finding's chain, from 1, without gaps."),
    key: z
      .string()
      .min(1)
      .describe(
        'Idempotency key: the same step of the same run is written once, however often it is retried.',
      ),
    step: z
      .string()
      .min(1)
      .describe('The lifecycle step: detected, classified, routed, approval, reconciled, verified, ...'),
    at: z.string().min(1).describe('ISO 8601 instant at which the step happened.'),
    runId: z.string().describe('The Temporal run of the lifecycle that wrote the record.'),
    data: z.unknown().describe("The step's content; its shape depends on `step` (docs/evidence.md)."),
    prevHash: sha256Hex.describe('`hash` of the record before it in the chain, or 64 zeros for the first.'),
    hash: sha256Hex.describe(
      'SHA-256 (hex) of the canonical JSON (keys sorted, no spaces) of the record without `hash`.',
    ),
  })
  .describe('One driftplane evidence record: one step of one finding, hash-chained to the step before it.');

/** One evidence record: what happened at one step of one finding's lifecycle. */
export type EvidenceRecord = z.infer<typeof EvidenceRecordSchema>;

/** What a caller gives `append`; the store adds `v`, `seq`, `prevHash` and `hash`. */
export interface EvidenceEntry {
  findingId: string;
  key: string;
  step: string;
  runId: string;
  at: string;
  data: unknown;
  /**
   * The unit's `evidence.retention` (`400d`, `18m`, `7y`): how long an S3 store keeps the record
   * under Object Lock. The local store ignores it.
   */
  retention?: string;
}

/** Result of checking a finding's chain. */
export interface ChainCheck {
  ok: boolean;
  records: number;
  problems: string[];
}

/** `prevHash` of the first record of a chain. */
export const GENESIS = '0'.repeat(64);

/** JSON with sorted keys, so a record hashes the same however it was built. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** SHA-256 (hex) of a record without its `hash`: what `hash` must be. */
export function recordHashOf(record: Omit<EvidenceRecord, 'hash'>): string {
  return createHash('sha256').update(canonicalJson(record)).digest('hex');
}

/** Builds the next record of a chain from an entry, the seq it takes and the record before it. */
export function nextRecord(
  entry: EvidenceEntry,
  seq: number,
  prev: EvidenceRecord | undefined,
): EvidenceRecord {
  const body: Omit<EvidenceRecord, 'hash'> = {
    v: EVIDENCE_SCHEMA_VERSION,
    findingId: entry.findingId,
    seq,
    key: entry.key,
    step: entry.step,
    at: entry.at,
    runId: entry.runId,
    data: entry.data,
    prevHash: prev?.hash ?? GENESIS,
  };
  return { ...body, hash: recordHashOf(body) };
}

/**
 * Recomputes every hash and link of a finding's chain (records in the order the store holds
 * them) and checks signed answers. Each problem names the record's file (or object) and field.
 * `where` names the finding's folder in the message for a finding without records.
 */
export function checkChain(
  findingId: string,
  files: { file: string; record: unknown }[],
  where: string,
): ChainCheck {
  const problems: string[] = [];
  let prevHash = GENESIS;
  files.forEach(({ file, record }, i) => {
    if (!record || typeof record !== 'object' || Array.isArray(record)) {
      problems.push(`${file}: not an evidence record (a JSON object)`);
      prevHash = '';
      return;
    }
    const parsed = EvidenceRecordSchema.safeParse(record);
    if (!parsed.success) {
      for (const issue of parsed.error.issues.slice(0, 3))
        problems.push(`${file}: field ${issue.path.join('.') || '(record)'}: ${issue.message}`);
    }
    const r = record as EvidenceRecord;
    const { hash, ...body } = r;
    if (r.seq !== i + 1)
      problems.push(
        `${file}: field seq is ${r.seq}, expected ${i + 1} (a record is missing or was inserted)`,
      );
    if (r.prevHash !== prevHash)
      problems.push(`${file}: field prevHash does not link to the record before it`);
    if (r.findingId !== findingId)
      problems.push(`${file}: field findingId is ${r.findingId}, expected ${findingId}`);
    if (recordHashOf(body) !== hash)
      problems.push(`${file}: field hash does not match the record's content (changed after it was written)`);
    // A signed answer is checked on its own: a rewritten chain does not make a forged statement verify.
    if (r.step === 'approval') problems.push(...statementProblems(file, findingId, r.data));
    prevHash = hash;
  });
  if (files.length === 0) problems.push(`no evidence for ${findingId} in ${where}`);
  return { ok: problems.length === 0, records: files.length, problems };
}

/** The JSON Schema of a record, as `driftplane schema evidence` prints it. */
export function evidenceRecordJsonSchema(): Record<string, unknown> {
  return {
    ...(z.toJSONSchema(EvidenceRecordSchema, { target: 'draft-7', unrepresentable: 'any' }) as Record<
      string,
      unknown
    >),
    $id: evidenceRecordSchemaId,
    title: `driftplane evidence record (v${EVIDENCE_SCHEMA_VERSION})`,
  };
}
