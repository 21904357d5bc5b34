import path from 'node:path';
import type { RegistryIssue } from '../domain/registry/model';
import { escaped } from '../domain/terminal-text';

/**
 * One line per issue: `file:line:col kind/name field: message` (parts that are unknown are left
 * out). With `cwd`, an absolute file inside it is shown relative to it. Messages quote values from
 * the files (`got "urgent"`), and names come from them: every part is made visible, on one line.
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
  return escaped`${head}: ${tag} [${issue.rule}] ${issue.message}`;
}
