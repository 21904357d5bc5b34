import { dayMs, parseInstant } from './durations';
import { issueAt } from './check-references';
import type { ParsedDocument, PendingIssue } from './model';
import { sensitiveCoverage, splitPointer } from './paths';
import type { Acknowledgement, IgnorePath } from './schemas';

/** Longest an exception may run: expiresAt is at most this many days after approvedAt. */
export const maxExceptionDays = 90;
/** Exceptions expiring within this many days get a warning. */
export const expiryWarningDays = 7;

interface IgnoreEntry {
  path: string;
  field: (string | number)[];
  acknowledged?: Acknowledgement;
  what: string;
}

function entries(kindField: string, list: readonly IgnorePath[]): IgnoreEntry[] {
  return list.map((p, i) =>
    typeof p === 'string'
      ? { path: p, field: ['spec', kindField, i], what: kindField }
      : {
          path: p.path,
          field: ['spec', kindField, i, 'path'],
          acknowledged: p.acknowledged,
          what: kindField,
        },
  );
}

/**
 * The §14.1 review of ignore paths: a path that covers identity, image, network, privilege,
 * persistence or command fields is an error unless narrowed (it no longer covers them) or
 * acknowledged with a reason (`{path, acknowledged: {reason, categories?}}`); the whole object is never ignorable.
 * Returns the issues and whether an acknowledged sensitive path was seen.
 */
export function lintIgnoreEntries(
  entry: ParsedDocument,
  list: readonly IgnoreEntry[],
): { issues: PendingIssue[]; acknowledgedSensitive: boolean } {
  const issues: PendingIssue[] = [];
  let acknowledgedSensitive = false;
  for (const e of list) {
    if (splitPointer(e.path).length === 0) {
      issues.push(
        issueAt(
          entry,
          'ignore-whole-object',
          e.field,
          `${e.what} path "${e.path}" ignores the whole object; list the fields instead (§14)`,
        ),
      );
      continue;
    }
    const cov = sensitiveCoverage(e.path);
    if (cov.categories.length === 0) continue;
    const detail = cov.categories.map((c, i) => `${c} (${cov.examples[i]})`).join(', ');
    if (!e.acknowledged) {
      issues.push(
        issueAt(
          entry,
          'ignore-sensitive-path',
          e.field,
          `${e.what} path ${e.path} covers ${detail} (§14.1): narrow it to the field the controller owns, or acknowledge it with {path, acknowledged: {reason}}`,
        ),
      );
      continue;
    }
    const missing = e.acknowledged.categories
      ? cov.categories.filter((c) => !e.acknowledged?.categories?.includes(c))
      : [];
    if (missing.length > 0) {
      issues.push(
        issueAt(
          entry,
          'ignore-sensitive-path',
          e.field,
          `${e.what} path ${e.path} also covers ${missing.join(', ')}, which its acknowledgement does not list`,
        ),
      );
      continue;
    }
    acknowledgedSensitive = true;
  }
  return { issues, acknowledgedSensitive };
}

/**
 * Ignore-rule lint (§14, §14.1) over ownership rules and exceptions, and the exception clock:
 * expiresAt at most 90 days after approvedAt; approvedAt not in the future; expired exceptions
 * (warning `exception-expired`: they no longer apply) and those expiring within 7 days (warning).
 */
export function lintIgnoreRules(docs: readonly ParsedDocument[], now: Date): PendingIssue[] {
  const issues: PendingIssue[] = [];
  for (const d of docs) {
    if (d.doc.kind === 'DriftOwnershipRule') {
      const s = d.doc.spec;
      const list: IgnoreEntry[] = [
        ...entries('runtimeOwned', s.runtimeOwned),
        ...s.controllerOwned.map((c, i): IgnoreEntry => ({
          path: c.path,
          field: ['spec', 'controllerOwned', i, 'path'],
          acknowledged: c.acknowledged,
          what: 'controllerOwned',
        })),
        ...s.policyOwned.map((c, i): IgnoreEntry => ({
          path: c.path,
          field: ['spec', 'policyOwned', i, 'path'],
          acknowledged: c.acknowledged,
          what: 'policyOwned',
        })),
      ];
      issues.push(...lintIgnoreEntries(d, list).issues);
    }
    if (d.doc.kind !== 'DriftException') continue;
    const s = d.doc.spec;
    const lint = lintIgnoreEntries(d, entries('paths', s.paths));
    issues.push(...lint.issues);
    if (lint.acknowledgedSensitive && !s.compensatingDetector)
      issues.push(
        issueAt(
          d,
          'sensitive-without-detector',
          ['spec', 'paths'],
          'an exception on a sensitive field needs a compensatingDetector (another detector that covers the field, §14.1)',
        ),
      );
    if (lint.acknowledgedSensitive && s.permanent)
      issues.push(
        issueAt(
          d,
          'exception-permanent-sensitive',
          ['spec', 'permanent'],
          'an exception on a sensitive field cannot be permanent; give it an expiresAt',
        ),
      );
    const sc = s.scope;
    if (
      sc.kind === undefined &&
      sc.name === undefined &&
      sc.namespace === undefined &&
      sc.resourceAddress === undefined
    )
      issues.push(
        issueAt(
          d,
          'exception-broad-scope',
          ['spec', 'scope'],
          `the exception covers every resource of unit ${sc.unit}; scope it by kind, name, namespace or resourceAddress`,
          'warning',
        ),
      );

    const approvedAt = parseInstant(s.approvedAt);
    if (approvedAt && approvedAt.getTime() > now.getTime())
      issues.push(
        issueAt(
          d,
          'exception-approved-in-future',
          ['spec', 'approvedAt'],
          `approvedAt ${s.approvedAt} is in the future (now ${now.toISOString()})`,
        ),
      );
    if (s.permanent || s.expiresAt === undefined) continue;
    const expiresAt = parseInstant(s.expiresAt);
    if (!approvedAt || !expiresAt) continue;
    const days = (expiresAt.getTime() - approvedAt.getTime()) / dayMs;
    if (days <= 0)
      issues.push(
        issueAt(
          d,
          'exception-too-long',
          ['spec', 'expiresAt'],
          `expiresAt ${s.expiresAt} is not after approvedAt ${s.approvedAt}`,
        ),
      );
    else if (days > maxExceptionDays)
      issues.push(
        issueAt(
          d,
          'exception-too-long',
          ['spec', 'expiresAt'],
          `expiresAt ${s.expiresAt} is ${Math.ceil(days)} days after approvedAt ${s.approvedAt}; at most ${maxExceptionDays} (renew it with a new approval, or permanent: true with a justification)`,
        ),
      );
    const left = (expiresAt.getTime() - now.getTime()) / dayMs;
    if (left <= 0)
      issues.push(
        issueAt(
          d,
          'exception-expired',
          ['spec', 'expiresAt'],
          `expired on ${s.expiresAt}; it no longer applies: renew it or remove it`,
          'warning',
        ),
      );
    else if (left <= expiryWarningDays)
      issues.push(
        issueAt(
          d,
          'exception-expiring',
          ['spec', 'expiresAt'],
          `expires on ${s.expiresAt}, in ${Math.ceil(left)} day(s)`,
          'warning',
        ),
      );
  }
  return issues;
}
