import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { checkDocuments, type RawDocument } from '../domain/registry/check-registry';
import { buildRegistry, type Registry, type RegistryIssue, type SourceRef } from '../domain/registry/model';
import { locateField } from './locate';
import { yamlValue } from './yaml-value';

/** The result of loading a registry: all of it, or nothing but the problems. */
export type RegistryLoadResult =
  | { ok: true; registry: Registry; warnings: RegistryIssue[] }
  | { ok: false; errors: RegistryIssue[]; warnings: RegistryIssue[] };

/** Options of `loadRegistry`. */
export interface LoadRegistryOptions {
  /** The clock for exception expiry (default: the current time). Inject it for deterministic results. */
  now?: Date;
}

/** Every `*.yaml`/`*.yml` file under `dir`, recursively, sorted; hidden folders and node_modules are skipped. */
export async function listRegistryFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const full = path.join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && /\.ya?ml$/i.test(e.name)) out.push(full);
    }
  };
  await walk(dir);
  return out.sort();
}

interface ParsedFile {
  file: string;
  docs: Document.Parsed[];
  lineCounter: LineCounter;
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * Loads and validates every registry document under `dir` (any folder layout, many documents per
 * file). Reports every problem with its file, line, column, document and field; an invalid
 * registry returns no registry at all.
 */
export async function loadRegistry(dir: string, opts: LoadRegistryOptions = {}): Promise<RegistryLoadResult> {
  const now = opts.now ?? new Date();
  const fail = (rule: string, message: string): RegistryLoadResult => ({
    ok: false,
    errors: [{ severity: 'error', rule, file: dir, message }],
    warnings: [],
  });
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    return fail(
      'registry-not-found',
      `no such directory (set the registry folder as an argument or $DRIFTPLANE_REGISTRY)`,
    );
  }
  if (!isDir) return fail('registry-not-found', 'not a directory');
  const files = await listRegistryFiles(dir);
  if (files.length === 0) return fail('registry-empty', 'no *.yaml or *.yml files found');
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));

  const syntax: RegistryIssue[] = [];
  const raw: RawDocument[] = [];
  const parsed = new Map<string, ParsedFile>();
  const hash = createHash('sha256');
  files.forEach((file, fi) => {
    const text = texts[fi] as string;
    hash.update(path.relative(dir, file).split(path.sep).join('/')).update('\0').update(text).update('\0');
    const lineCounter = new LineCounter();
    const yamlIssue = (offset: number | undefined, message: string): RegistryIssue => {
      const pos = offset === undefined ? undefined : lineCounter.linePos(offset);
      return { severity: 'error', rule: 'yaml-syntax', file, line: pos?.line, column: pos?.col, message };
    };
    let docs: Document.Parsed[];
    try {
      const stream = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
      docs = Array.isArray(stream) ? stream : [];
    } catch (err) {
      // The parser reports its own limits as document errors; anything it throws is still this file's fault.
      syntax.push(yamlIssue(undefined, `YAML cannot be parsed: ${firstLine((err as Error).message)}`));
      docs = [];
    }
    parsed.set(file, { file, docs, lineCounter });
    docs.forEach((doc, index) => {
      if (doc.errors.length > 0) {
        for (const err of doc.errors) {
          syntax.push(yamlIssue(err.pos[0], `YAML syntax error (${err.code}): ${firstLine(err.message)}`));
        }
        return;
      }
      if (doc.contents === null) return; // an empty document (e.g. a trailing `---`)
      const start = doc.contents.range?.[0];
      const source: SourceRef = {
        file,
        index,
        line: start === undefined ? undefined : lineCounter.linePos(start).line,
      };
      const value = yamlValue(doc);
      if (value.ok) raw.push({ value: value.value, source });
      else syntax.push(yamlIssue(value.offset ?? start, `YAML error (${value.code}): ${value.message}`));
    });
  });

  const { docs, issues } = checkDocuments(raw, { now });
  const located: RegistryIssue[] = issues.map((p) => {
    const pf = parsed.get(p.source.file);
    const doc = pf?.docs[p.source.index];
    const pos = pf && doc ? locateField(doc, pf.lineCounter, p.field, p.atKey) : undefined;
    const issue: RegistryIssue = {
      severity: p.severity,
      rule: p.rule,
      file: p.source.file,
      kind: p.kind,
      name: p.name,
      field: p.field,
      message: p.message,
    };
    if (pos) {
      issue.line = pos.line;
      issue.column = pos.column;
    }
    return issue;
  });
  const all = [...syntax, ...located].sort(
    (a, b) =>
      a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
  const errors = all.filter((i) => i.severity === 'error');
  const warnings = all.filter((i) => i.severity === 'warning');
  if (errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, registry: buildRegistry(docs, `sha256:${hash.digest('hex')}`), warnings };
}
