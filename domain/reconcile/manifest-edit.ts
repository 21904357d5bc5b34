/**
 * Edits of Kubernetes-shaped manifests for reconciliation PRs (a Git update PR: desired state takes
 * the accepted runtime value). One document of a multi-document YAML file (or a JSON file) is found
 * by kind, name, namespace and API group, and fields are set or removed by JSON pointer.
 *
 * A reviewer must see only the change: every other document of the file stays byte for byte, and so
 * do comments. When every change of a document replaces one scalar with another, only those
 * scalars' text is replaced (quoting style kept); otherwise the document is re-serialized by the
 * `yaml` library, which keeps comments, key order and quoting, but may normalize spacing inside
 * that document (e.g. the gap before an inline comment).
 *
 * Pure: text in, text out.
 */
import {
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  Scalar,
  stringify,
  type Document,
  type ToStringOptions,
} from 'yaml';
import { parsePointer } from '../json-pointer';

/** The document to edit. `apiVersion` is compared by its API group only (`apps/v1` matches `apps/v1beta2`). */
export interface ManifestTarget {
  apiVersion?: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** One change: set `path` to `value`, or remove it (`remove: true`). */
export interface ManifestChange {
  /** RFC 6901 JSON pointer, e.g. `/metadata/labels/tier` or `/spec/template/spec/containers/0/image`. */
  path: string;
  value?: unknown;
  remove?: boolean;
}

/** A manifest could not be edited as asked. The message names the file, the document and the pointer. */
export class ManifestEditError extends Error {
  override readonly name = 'ManifestEditError';
  constructor(
    readonly file: string,
    readonly target: ManifestTarget,
    readonly pointer: string | undefined,
    problem: string,
  ) {
    super(`${file}: ${describeTarget(target)}${pointer !== undefined ? ` at ${pointer}` : ''}: ${problem}`);
  }
}

/** `Deployment checkout/web (apps)`: how messages name a target. */
export function describeTarget(t: ManifestTarget): string {
  const group = t.apiVersion ? ` (${t.apiVersion})` : '';
  return `${t.kind} ${t.namespace ? `${t.namespace}/` : ''}${t.name}${group}`;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

interface Identity {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown } | null;
}

/**
 * How well a manifest value matches a target: 2 exact, 1 when the manifest has no namespace and the
 * target has one (the namespace then comes from the deploy tool), 0 no match.
 */
function matchScore(value: unknown, t: ManifestTarget): number {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 0;
  const v = value as Identity;
  if (v.kind !== t.kind) return 0;
  const md = v.metadata;
  if (!md || typeof md !== 'object' || md.name !== t.name) return 0;
  if (t.apiVersion !== undefined && typeof v.apiVersion === 'string' && groupOf(v.apiVersion) !== groupOf(t.apiVersion)) return 0;
  if (t.namespace === undefined || md.namespace === t.namespace) return 2;
  return md.namespace === undefined ? 1 : 0;
}

/** The index of the best-matching value, or undefined; throws when two match equally well. */
function pick(values: readonly unknown[], file: string, t: ManifestTarget): number | undefined {
  let best = 0;
  let at: number[] = [];
  values.forEach((v, i) => {
    const s = matchScore(v, t);
    if (s > best) {
      best = s;
      at = [i];
    } else if (s === best && s > 0) at.push(i);
  });
  if (at.length > 1) throw new ManifestEditError(file, t, undefined, `${at.length} documents match (documents ${at.map((i) => i + 1).join(', ')})`);
  return at[0];
}

const isJsonFile = (fileName: string): boolean => /\.json$/i.test(fileName);

function yamlValues(docs: readonly Document.Parsed[]): unknown[] {
  return docs.map((d) => {
    if (d.errors.length > 0) return undefined;
    try {
      return d.toJS({ maxAliasCount: 100 }) as unknown;
    } catch {
      return undefined;
    }
  });
}

/**
 * The path, among `files`, of the one file holding the target document; undefined when none does.
 * Files that do not parse are skipped. Throws `ManifestEditError` when several files hold it (say, a
 * base and an overlay), since picking one would be a guess.
 */
export function findManifestFile(files: readonly { path: string; text: string }[], target: ManifestTarget): string | undefined {
  const hits: { path: string; score: number }[] = [];
  for (const f of files) {
    let values: unknown[];
    if (isJsonFile(f.path)) {
      try {
        const v = JSON.parse(f.text) as unknown;
        values = Array.isArray(v) ? v : [v];
      } catch {
        continue;
      }
    } else if (/\.ya?ml$/i.test(f.path)) {
      values = yamlValues(parseAllDocuments(f.text) as Document.Parsed[]);
    } else continue;
    const best = Math.max(0, ...values.map((v) => matchScore(v, target)));
    if (best > 0) hits.push({ path: f.path, score: best });
  }
  const top = Math.max(0, ...hits.map((h) => h.score));
  const best = hits.filter((h) => h.score === top);
  if (best.length > 1)
    throw new ManifestEditError(best.map((h) => h.path).join(', '), target, undefined, `${best.length} files hold this document`);
  return best[0]?.path;
}

type Step = string | number;

/** Resolves pointer tokens against a YAML/JS structure: numeric tokens index sequences/arrays. */
function toSteps(tokens: readonly string[], isArrayAt: (prefix: Step[]) => boolean | undefined): Step[] {
  const steps: Step[] = [];
  for (const tok of tokens) {
    steps.push(isArrayAt(steps) && /^(0|[1-9]\d*|-)$/.test(tok) ? (tok === '-' ? -1 : Number(tok)) : tok);
  }
  return steps;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

// ---------------------------------------------------------------- JSON

function editJson(text: string, fileName: string, target: ManifestTarget, changes: readonly ManifestChange[]): { text: string; changed: boolean } {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    throw new ManifestEditError(fileName, target, undefined, `not valid JSON: ${(err as Error).message}`);
  }
  const list = Array.isArray(root) ? root : [root];
  const at = pick(list, fileName, target);
  if (at === undefined) throw new ManifestEditError(fileName, target, undefined, 'document not found');
  const doc = list[at] as Record<string, unknown>;
  const before = JSON.stringify(root);
  for (const c of changes) {
    const tokens = parsePointerOr(fileName, target, c.path);
    if (tokens.length === 0) throw new ManifestEditError(fileName, target, c.path, 'cannot replace the whole document');
    let node: unknown = doc;
    for (let i = 0; i < tokens.length - 1; i++) {
      const tok = tokens[i] as string;
      const here = tokens.slice(0, i + 1);
      let next: unknown;
      if (Array.isArray(node)) {
        const idx = arrayIndex(fileName, target, c.path, tok, node.length, false);
        next = node[idx];
        if (next === undefined) throw new ManifestEditError(fileName, target, c.path, `index ${tok} is out of range (length ${node.length})`);
      } else if (node !== null && typeof node === 'object') {
        const obj = node as Record<string, unknown>;
        next = obj[tok];
        if (next === undefined || next === null) {
          if (c.remove) break;
          next = {};
          obj[tok] = next;
        }
      } else {
        throw new ManifestEditError(fileName, target, c.path, `/${here.slice(0, -1).join('/')} is a scalar, not a map or list`);
      }
      node = next;
    }
    const last = tokens[tokens.length - 1] as string;
    if (node === null || typeof node !== 'object') {
      if (c.remove) continue;
      throw new ManifestEditError(fileName, target, c.path, 'the parent of this field is a scalar, not a map or list');
    }
    if (Array.isArray(node)) {
      const idx = arrayIndex(fileName, target, c.path, last, node.length, !c.remove);
      if (c.remove) {
        if (idx < node.length) node.splice(idx, 1);
      } else node[idx] = c.value;
    } else if (c.remove) delete (node as Record<string, unknown>)[last];
    else (node as Record<string, unknown>)[last] = c.value;
  }
  if (JSON.stringify(root) === before) return { text, changed: false };
  return { text: `${JSON.stringify(root, null, 2)}\n`, changed: true };
}

function parsePointerOr(file: string, target: ManifestTarget, pointer: string): string[] {
  try {
    return parsePointer(pointer);
  } catch {
    throw new ManifestEditError(file, target, pointer, 'not a JSON pointer (it must start with "/")');
  }
}

function arrayIndex(file: string, target: ManifestTarget, pointer: string, tok: string, length: number, allowAppend: boolean): number {
  if (tok === '-' && allowAppend) return length;
  if (!/^(0|[1-9]\d*)$/.test(tok)) throw new ManifestEditError(file, target, pointer, `${JSON.stringify(tok)} is not a list index`);
  const idx = Number(tok);
  if (idx > length || (idx === length && !allowAppend))
    throw new ManifestEditError(file, target, pointer, `index ${idx} is out of range (length ${length})`);
  return idx;
}

// ---------------------------------------------------------------- YAML

/** How the file indents: block sequences under a key indented (`indentSeq`) or flush, and the indent width. */
function styleOf(text: string): ToStringOptions {
  const flush = /^( *)[^\s#-][^\n]*:[ \t]*\n\1- /m.test(text);
  const indented = /^( *)[^\s#-][^\n]*:[ \t]*\n\1 +- /m.test(text);
  const m = /^[^\s#-][^\n]*:[ \t]*\n( +)\S/m.exec(text);
  const indent = m ? Math.min(Math.max((m[1] as string).length, 2), 8) : 2;
  return { indent, indentSeq: indented || !flush, lineWidth: 0, minContentWidth: 0 };
}

interface ScalarSplice {
  start: number;
  end: number;
  text: string;
}

/** The text of `value` as a plain or quoted flow scalar in the style of `old`, or undefined when it needs more than one line. */
function scalarText(old: Scalar, value: unknown): string | undefined {
  if (value !== null && typeof value === 'object') return undefined;
  const type = typeof value === 'string' && (old.type === Scalar.QUOTE_DOUBLE || old.type === Scalar.QUOTE_SINGLE) ? old.type : undefined;
  if (old.type === Scalar.BLOCK_FOLDED || old.type === Scalar.BLOCK_LITERAL) return undefined;
  const out = stringify(value, { defaultStringType: type ?? Scalar.PLAIN, lineWidth: 0, minContentWidth: 0 }).replace(/\n$/, '');
  return out.includes('\n') ? undefined : out;
}

function editYaml(text: string, fileName: string, target: ManifestTarget, changes: readonly ManifestChange[]): { text: string; changed: boolean } {
  const docs = parseAllDocuments(text, { keepSourceTokens: true }) as Document.Parsed[];
  if (!Array.isArray(docs)) throw new ManifestEditError(fileName, target, undefined, 'document not found (the file is empty)');
  const broken = docs.find((d) => d.errors.length > 0);
  if (broken) throw new ManifestEditError(fileName, target, undefined, `YAML syntax error: ${(broken.errors[0]?.message ?? '').split('\n')[0]}`);
  const at = pick(yamlValues(docs), fileName, target);
  if (at === undefined) throw new ManifestEditError(fileName, target, undefined, 'document not found');
  const doc = docs[at] as Document.Parsed;
  const before = doc.toJS() as unknown;

  const splices: ScalarSplice[] = [];
  let restructured = false;
  for (const c of changes) {
    const tokens = parsePointerOr(fileName, target, c.path);
    if (tokens.length === 0) throw new ManifestEditError(fileName, target, c.path, 'cannot replace the whole document');
    const steps = toSteps(tokens, (prefix) => {
      const n: unknown = prefix.length === 0 ? doc.contents : doc.getIn(prefix, true);
      return isSeq(n) ? true : undefined;
    });
    // Walk the parents: a scalar on the way is an error; a missing map is created (unless removing).
    for (let i = 0; i < steps.length - 1; i++) {
      const parentPath = steps.slice(0, i);
      const parent = i === 0 ? doc.contents : doc.getIn(parentPath, true);
      const step = steps[i] as Step;
      if (isSeq(parent)) {
        if (typeof step !== 'number' || step < 0 || step >= parent.items.length)
          throw new ManifestEditError(fileName, target, c.path, `${JSON.stringify(tokens[i])} is not an index of the list at /${tokens.slice(0, i).join('/')} (length ${parent.items.length})`);
      } else if (!isMap(parent)) {
        throw new ManifestEditError(fileName, target, c.path, `/${tokens.slice(0, i).join('/')} is a scalar, not a map or list`);
      }
      const node = doc.getIn([...parentPath, step], true);
      if (node === undefined || node === null || (isScalar(node) && node.value === null)) {
        if (c.remove) break;
        doc.setIn([...parentPath, step], doc.createNode({}));
        restructured = true;
      }
    }
    const parentSteps = steps.slice(0, -1);
    const parent: unknown = parentSteps.length === 0 ? doc.contents : doc.getIn(parentSteps, true);
    let last = steps[steps.length - 1] as Step;
    if (parent === undefined && c.remove) continue;
    if (!isMap(parent) && !isSeq(parent))
      throw new ManifestEditError(fileName, target, c.path, `/${tokens.slice(0, -1).join('/')} is a scalar, not a map or list`);
    if (isSeq(parent)) {
      if (last === -1) last = parent.items.length;
      if (typeof last !== 'number' || last > parent.items.length || (c.remove && last >= parent.items.length))
        throw new ManifestEditError(fileName, target, c.path, `${JSON.stringify(tokens[tokens.length - 1])} is not an index of the list (length ${parent.items.length})`);
    }
    if (c.remove) {
      if (doc.hasIn([...parentSteps, last])) {
        doc.deleteIn([...parentSteps, last]);
        restructured = true;
      }
      continue;
    }
    const existing = doc.getIn([...parentSteps, last], true);
    if (isScalar(existing) && existing.range && (existing.value === null || typeof existing.value === typeof c.value)) {
      if (jsonEqual(existing.value, c.value)) continue;
      const rendered = scalarText(existing, c.value);
      if (rendered !== undefined && existing.value !== null) {
        splices.push({ start: existing.range[0], end: existing.range[1], text: rendered });
        existing.value = c.value;
        continue;
      }
      // Same kind of value that cannot be spliced as one line: keep the node (and its comment), change its value.
      existing.value = c.value;
      restructured = true;
      continue;
    }
    const node = doc.createNode(c.value);
    if (isScalar(existing) && existing.comment) node.comment = existing.comment;
    doc.setIn([...parentSteps, last], node);
    restructured = true;
  }

  if (jsonEqual(doc.toJS(), before)) return { text, changed: false };
  if (!restructured) {
    let out = text;
    for (const s of [...splices].sort((a, b) => b.start - a.start)) out = out.slice(0, s.start) + s.text + out.slice(s.end);
    return { text: out, changed: true };
  }
  // Re-serialize this document only; the text of the others is kept as it was.
  const regionStart = at === 0 ? 0 : ((docs[at - 1] as Document.Parsed).range[2] ?? 0);
  const regionEnd = doc.range[2];
  const original = text.slice(regionStart, regionEnd);
  let rendered = doc.toString(styleOf(original));
  // The first document may start without `---` while toString() adds none; keep the file's own choice.
  if (!original.endsWith('\n') && rendered.endsWith('\n')) rendered = rendered.slice(0, -1);
  return { text: text.slice(0, regionStart) + rendered + text.slice(regionEnd), changed: true };
}

/**
 * Sets or removes fields of one document of a manifest file. YAML files may hold many documents
 * (`---`); a `.json` file holds one object (or a list of them) and is written back as
 * `JSON.stringify(doc, null, 2)` plus a newline. Pointers follow RFC 6901 (`~1` is `/`, `~0` is `~`);
 * a numeric token indexes a list, `-` appends; missing maps on the way are created.
 * Returns the text unchanged with `changed: false` when every change was already in place.
 * Throws `ManifestEditError` (file, document, pointer) when the document is not found or ambiguous,
 * a pointer runs through a scalar, or an index is out of range.
 */
export function editManifest(
  text: string,
  fileName: string,
  target: ManifestTarget,
  changes: readonly ManifestChange[],
): { text: string; changed: boolean } {
  return isJsonFile(fileName) ? editJson(text, fileName, target, changes) : editYaml(text, fileName, target, changes);
}
