import { checkReferences, uniqueDocuments } from './check-references';
import { lintIgnoreRules } from './lint-ignore-rules';
import type { ParsedDocument, PendingIssue, SourceRef } from './model';
import { validateDocument } from './validate-document';

/** A raw document as read from YAML, with where it came from. */
export interface RawDocument {
  value: unknown;
  source: SourceRef;
}

/**
 * Every check of the registry, in one pass that reports all problems: the schema of each document,
 * unique names per kind, cross-references, and the ignore-rule lint with the exception clock (`now`).
 * Cross-document checks run on the documents that passed their schema, so one broken document
 * does not hide the problems of the others.
 */
export function checkDocuments(
  raw: readonly RawDocument[],
  opts: { now: Date },
): { docs: ParsedDocument[]; issues: PendingIssue[] } {
  const issues: PendingIssue[] = [];
  const valid: ParsedDocument[] = [];
  for (const r of raw) {
    const res = validateDocument(r.value, r.source);
    issues.push(...res.issues);
    if (res.doc) valid.push({ doc: res.doc, source: r.source });
  }
  const { unique, issues: dup } = uniqueDocuments(valid);
  issues.push(...dup, ...checkReferences(unique), ...lintIgnoreRules(unique, opts.now));
  return { docs: unique, issues };
}
