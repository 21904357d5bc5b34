import path from 'node:path';
import type { RegistryIssue } from '../domain/registry/model';

/**
 * One line per issue: `file:line:col kind/name field: message` (parts that are unknown are left
 * out). With `cwd`, an absolute file inside it is shown relative to it.
 */
export function formatIssue(issue: RegistryIssue, opts: { cwd?: string } = {}): string {
  let file = issue.file;
  if (opts.cwd && path.isAbsolute(file)) {
    const rel = path.relative(opts.cwd, file);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) file = rel;
  }
  const where = [file, issue.line, issue.column].filter((p) => p !== undefined).join(':');
  const doc = issue.kind ? `${issue.kind}/${issue.name ?? '<no name>'}` : '';
  const head = [where, doc, issue.field].filter((p) => p !== undefined && p !== '').join(' ');
  const tag = issue.severity === 'warning' ? 'warning' : 'error';
  return `${head}: ${tag} [${issue.rule}] ${issue.message}`;
}
