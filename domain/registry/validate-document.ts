import type { PendingIssue, SourceRef } from './model';
import { joinPointer } from './paths';
import { kindSchemas, RegistryKindSchema, type RegistryDocument } from './schemas';
import { schemaProblems, suggest } from './zod-issues';

/** The kind and name a raw document claims, for messages (even when they are invalid). */
export function claimedIdentity(value: unknown): { kind: string; name: string } {
  const v = (value ?? {}) as { kind?: unknown; metadata?: { name?: unknown } };
  const kind = typeof v.kind === 'string' ? v.kind : '<no kind>';
  const name =
    v.metadata && typeof v.metadata === 'object' && typeof v.metadata.name === 'string'
      ? v.metadata.name
      : '<no name>';
  return { kind, name };
}

/**
 * Validates one raw document (the `toJS()` of a YAML document) against the schema of its kind.
 * Returns the parsed document, or every problem found in it; never a partial document.
 */
export function validateDocument(
  value: unknown,
  source: SourceRef,
): { doc?: RegistryDocument; issues: PendingIssue[] } {
  const { kind, name } = claimedIdentity(value);
  const issue = (rule: string, field: string, message: string, atKey = false): PendingIssue => ({
    severity: 'error',
    rule,
    source,
    kind,
    name,
    field,
    message,
    atKey,
  });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      issues: [
        issue(
          'invalid-document',
          '',
          `expected a mapping with apiVersion, kind, metadata and spec, got ${Array.isArray(value) ? 'a list' : typeof value}`,
        ),
      ],
    };
  }
  const raw = value as Record<string, unknown>;
  if (raw.kind === undefined)
    return {
      issues: [
        issue(
          'unknown-kind',
          '/kind',
          `required field is missing (expected one of: ${RegistryKindSchema.options.join(', ')})`,
        ),
      ],
    };
  const parsedKind = RegistryKindSchema.safeParse(raw.kind);
  if (!parsedKind.success) {
    const hint = typeof raw.kind === 'string' ? suggest(raw.kind, RegistryKindSchema.options) : undefined;
    return {
      issues: [
        issue(
          'unknown-kind',
          '/kind',
          `unknown kind ${JSON.stringify(raw.kind)}${hint ? ` (did you mean ${hint}?)` : ''} (expected one of: ${RegistryKindSchema.options.join(', ')})`,
        ),
      ],
    };
  }
  const schema = kindSchemas[parsedKind.data];
  const result = schema.safeParse(value);
  if (result.success) return { doc: result.data as RegistryDocument, issues: [] };
  return {
    issues: schemaProblems(result.error.issues, value, schema).map((p) =>
      issue(p.rule, joinPointer(p.path), p.message, p.atKey),
    ),
  };
}
